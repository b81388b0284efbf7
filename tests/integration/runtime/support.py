"""What the Docker runtime scenarios share: releases, HTTP gets, and (from
``tests.support.runtimes``) the recording Progress and plans the contract suite uses too."""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping

from ledger.ids import RELEASE, new_id
from ledger.manifest import Health, Manifest, Service
from ledger.runtime import ReleaseSpec
from tests.support.runtimes import Recorder, SimulatedCrash, plan

__all__ = ["QUICK", "Recorder", "SimulatedCrash", "get", "plan", "release", "web"]

# Short waits keep the scenarios fast.
QUICK = Health(path="/health", grace=3.0, interval=0.2, timeout=1.0)


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


def get(port: int | None, path: str) -> tuple[int, str]:
    """GET http://127.0.0.1:<port><path>: (status, body)."""
    assert port is not None
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.status, response.read().decode()
