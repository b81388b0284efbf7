"""A promotion a crash left in flight is finished when ``ledgerd`` starts again.

Each scenario writes, with the ledger's own application and service on the data dir
a ``ledgerd`` uses, exactly what a ``kill -9`` at one point of a promotion leaves in
the log. Then a real ``ledgerd`` starts on it and the promotion is asked about over
gRPC. Runs on SQLite files and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, CreateBuild, PromoteRelease
from ledger.domain import Cause, CauseKind, Meta, Promotion
from ledger.promoter import Promoter
from ledger.service import LedgerService
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from runtime.record import RecordRuntime
from server.infra.persistence import ledger_env
from server.infra.settings import Settings
from tests.integration.recovery.support import connected, eventually, ledgerd_env
from tests.support.builds import image_build
from tests.support.ledgerd import LedgerdProcess

ALICE = Meta(actor="alice@laptop")
LEDGERD = Meta(actor="ledgerd")
TERMINAL = {"succeeded", "rolled_back", "rollback_failed", "cancelled"}


class DiesBeforeTheWorkerRuns(Promoter):
    """The promoter of a process killed (kill -9) right after a promotion was requested.

    The request is in the log, but the worker thread that would have run it never ran:
    ``submit`` records nothing and its future never completes.
    """

    def submit(self, promotion_id: str) -> Future[None]:
        return Future()


@dataclass(frozen=True)
class Crashed:
    """What the crashed process had done: v1 active, a promotion of v2 in flight."""

    v1: str
    v2: str
    promotion_id: str


@contextmanager
def ledger_on_disk(settings: Settings) -> Iterator[LedgerApplication]:
    """The ledger application on the very store ``ledgerd`` uses for ``settings``."""
    ledger = LedgerApplication(
        env=ledger_env(settings), snapshot_interval=settings.snapshot_interval
    )
    try:
        yield ledger
    finally:
        ledger.close()


def crash_during_a_promotion(
    settings: Settings, status: str, *steps: Callable[[Promotion], None]
) -> Crashed:
    """Deploy v1 of ``web``, request a promotion of v2 and record ``steps`` of it (each
    saved on its own, as the promoter does), then stop as a ``kill -9`` would."""
    with ledger_on_disk(settings) as ledger:
        runtime = RecordRuntime()
        running = LedgerService(ledger, runtime, Promoter(ledger, runtime, max_workers=0))
        dying = LedgerService(
            ledger, runtime, DiesBeforeTheWorkerRuns(ledger, runtime, max_workers=0)
        )
        running.create_app(CreateApp(name="web"), ALICE)
        v1 = image_build(running, CreateBuild(app="web", image="web:1"), ALICE).release_id
        running.promote(PromoteRelease(app="web", release_id=v1), ALICE)
        v2 = image_build(running, CreateBuild(app="web", image="web:2"), ALICE).release_id
        promotion_id = dying.promote(PromoteRelease(app="web", release_id=v2), ALICE).promotion_id
        for step in steps:
            promotion = ledger.promotion("web", promotion_id)
            step(promotion)
            ledger.save(promotion)

        left = ledger.promotion("web", promotion_id)
        assert (left.status, ledger.app("web").active_release_id) == (status, v1)
        return Crashed(v1=v1, v2=v2, promotion_id=promotion_id)


def started(promotion: Promotion) -> None:
    promotion.start(LEDGERD)


def failed_and_rolling_back(promotion: Promotion) -> None:
    promotion.fail(LEDGERD, Cause(CauseKind.HEALTH_CHECK_FAILED, "GET /health answered 503"))
    promotion.start_rollback(LEDGERD)


def promotion_ended(client: LedgerStub, promotion_id: str) -> pb.Promotion:
    def ended() -> pb.Promotion | None:
        promotion = client.GetPromotion(pb.GetPromotionRequest(app="web", id=promotion_id))
        return promotion if promotion.status in TERMINAL else None

    return eventually(ended, f"promotion {promotion_id} ended")


def app_settled(client: LedgerStub) -> pb.App:
    """The app once it has no promotion in flight any more."""

    def settled() -> pb.App | None:
        app = client.GetApp(pb.GetAppRequest(name="web"))
        return None if app.HasField("promotion") else app

    return eventually(settled, "web has no promotion in flight")


def test_a_promotion_requested_just_before_a_crash_succeeds_when_ledgerd_restarts(
    ledgerd_settings: Settings, ledgerd_process: Callable[..., LedgerdProcess]
) -> None:
    crashed = crash_during_a_promotion(ledgerd_settings, "pending")

    with connected(ledgerd_process(ledgerd_env(ledgerd_settings))) as client:
        promotion = promotion_ended(client, crashed.promotion_id)
        app = app_settled(client)

    assert promotion.status == "succeeded"
    assert app.active_release_id == crashed.v2
    assert app.desired_release_id == ""


def test_a_promotion_running_when_ledgerd_crashed_succeeds_when_it_restarts(
    ledgerd_settings: Settings, ledgerd_process: Callable[..., LedgerdProcess]
) -> None:
    crashed = crash_during_a_promotion(ledgerd_settings, "running", started)

    with connected(ledgerd_process(ledgerd_env(ledgerd_settings))) as client:
        promotion = promotion_ended(client, crashed.promotion_id)
        app = app_settled(client)

    assert promotion.status == "succeeded"
    assert app.active_release_id == crashed.v2
    assert app.desired_release_id == ""


def test_a_rollback_under_way_when_ledgerd_crashed_ends_rolled_back_when_it_restarts(
    ledgerd_settings: Settings, ledgerd_process: Callable[..., LedgerdProcess]
) -> None:
    crashed = crash_during_a_promotion(
        ledgerd_settings, "rolling_back", started, failed_and_rolling_back
    )

    with connected(ledgerd_process(ledgerd_env(ledgerd_settings))) as client:
        promotion = promotion_ended(client, crashed.promotion_id)
        app = app_settled(client)

    assert promotion.status == "rolled_back"
    assert promotion.cause.kind == "health_check_failed"
    assert app.active_release_id == crashed.v1
    assert app.desired_release_id == ""
