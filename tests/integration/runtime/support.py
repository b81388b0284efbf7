"""What the runtime scenarios share: a recording Progress, releases and plans, HTTP gets."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime

from ledger.ids import RELEASE, new_id
from ledger.manifest import Health, Manifest, Service
from ledger.runtime import ReleaseSpec, RolloutPlan

# Short waits keep the scenarios fast.
QUICK = Health(path="/health", grace=3.0, interval=0.2, timeout=1.0)


class SimulatedCrash(Exception):
    """Raised from a step to abandon a rollout where a killed ledgerd would have stopped."""


class Recorder:
    """Our own Progress port: records every step; can cancel or 'crash' on a given step."""

    def __init__(self, cancel_on: str = "", crash_on: str = "") -> None:
        self.steps: list[tuple[str, str]] = []
        self.cancel_on = cancel_on
        self.crash_on = crash_on
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    def step(self, kind: str, message: str) -> None:
        with self._lock:
            self.steps.append((kind, message))
        if kind == self.cancel_on:
            self._cancelled.set()
        if kind == self.crash_on:
            raise SimulatedCrash(message)

    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def kinds(self) -> list[str]:
        with self._lock:
            return [kind for kind, _ in self.steps]

    def messages(self, kind: str) -> list[str]:
        with self._lock:
            return [message for k, message in self.steps if k == kind]


def web(scale: int = 2, health: Health = QUICK, **options: object) -> Service:
    """An HTTP service ``web`` checked on /health, requiring ``VALUE``."""
    fields: dict[str, object] = {"port": 3000, "environment": {"VALUE": None}, **options}
    return Service(name="web", health=health, scale=scale, **fields)  # type: ignore[arg-type]


def release(
    app: str,
    image: str,
    version: int,
    *services: Service,
    env: Mapping[str, str] | None = None,
    images: Mapping[str, str] | None = None,
) -> ReleaseSpec:
    return ReleaseSpec(
        app=app,
        release_id=new_id(RELEASE),
        version=version,
        build_id="B" + "A" * 10,
        image=image,
        env=dict(env if env is not None else {"VALUE": f"value of v{version}"}),
        manifest=Manifest(services or (web(),)),
        images=dict(images or {}),
    )


def plan(
    target: ReleaseSpec, previous: ReleaseSpec | None = None, deadline: int = 120
) -> RolloutPlan:
    return RolloutPlan(
        promotion_id=new_id("P"),
        app=target.app,
        target=target,
        previous=previous,
        deadline_seconds=deadline,
        started_at=datetime.now(UTC),
    )


def get(port: int | None, path: str) -> tuple[int, str]:
    """GET http://127.0.0.1:<port><path>: (status, body)."""
    assert port is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.status, response.read().decode()
