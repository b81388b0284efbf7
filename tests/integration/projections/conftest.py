"""A real ledger (service, record runtime, promoter) on SQLite files or PostgreSQL, plus views."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, CreateBuild, PromoteRelease
from ledger.domain import Cause, Meta
from ledger.domain.promotion import PromotionStatus
from ledger.promoter import Promoter
from ledger.runtime import Progress, RolloutPlan
from ledger.service import LedgerService
from projections import LedgerViews, open_views, postgres_env, sqlite_env, views_env
from runtime.record import RecordRuntime
from tests.support.builds import image_build

ALICE = Meta(actor="alice@laptop")


class GatedRuntime(RecordRuntime):
    """The record runtime, except that a rollout waits until ``gate`` is open."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        self.gate.wait(10)
        return super().roll_out(plan, progress)


class Ledger:
    """The write side of one test, and helpers to drive it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.app = LedgerApplication(env=env)
        self.runtime = runtime = GatedRuntime()
        self.promoter = Promoter(self.app, runtime, max_workers=2)
        self.service = LedgerService(self.app, runtime, self.promoter)
        self._views: list[LedgerViews] = []

    def open_views(self) -> LedgerViews:
        views = open_views(views_env(self.env))
        self._views.append(views)
        return views

    def wait_promotion(self, promotion_id: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            status = self.app.promotion("", promotion_id).status
            if PromotionStatus(status).terminal:
                return str(status)
            assert time.monotonic() < deadline, f"promotion {promotion_id} still {status}"
            time.sleep(0.01)

    def deploy(self, app: str, image: str, meta: Meta = ALICE) -> tuple[str, str]:
        """Build ``image`` and promote its release; (release id, promotion id)."""
        built = image_build(self.service, CreateBuild(app=app, image=image), meta)
        promoted = self.service.promote(PromoteRelease(app=app, release_id=built.release_id), meta)
        self.wait_promotion(promoted.promotion_id)
        return built.release_id, promoted.promotion_id

    def create_app(self, name: str, meta: Meta = ALICE) -> int:
        return self.service.create_app(CreateApp(name=name), meta).position

    def close(self) -> None:
        self.promoter.close()
        for views in self._views:
            views.close()
        self.app.close()


def ledger_env(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if kind == "sqlite":
        env = sqlite_env(tmp_path / "events.sqlite")
    else:
        env = postgres_env(request.getfixturevalue("postgres_url")) | {"POSTGRES_POOL_SIZE": "2"}
    return env | {"IS_SNAPSHOTTING_ENABLED": "y"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """The ledger on each database kind (the views go to the same kind)."""
    ledger = Ledger(ledger_env(request.param, tmp_path, request))
    yield ledger
    ledger.close()


@pytest.fixture
def postgres_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    ledger = Ledger(ledger_env("postgres", tmp_path, request))
    yield ledger
    ledger.close()


@pytest.fixture
def views(ledger: Ledger) -> LedgerViews:
    return ledger.open_views()
