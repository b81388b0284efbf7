"""Drives promotions through the runtime and records every step.

A promotion is requested by a command (status pending) and then run here, in a
worker thread, because a real rollout can take minutes. The runtime reports steps;
each becomes an event. On failure the runtime restores the previous release and the
outcome of that is recorded too. After a crash, :meth:`Promoter.resume` runs every
promotion still in flight again from where the ledger says it is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from eventsourcing.domain import Aggregate

from ledger.application import LedgerApplication
from ledger.commands import Outcome
from ledger.domain import App, Cause, CauseKind, Meta, Promotion, StepKind
from ledger.domain.promotion import PromotionStatus
from ledger.runtime import ReleaseSpec, RolloutPlan, Runtime

log = logging.getLogger(__name__)
SYSTEM = Meta(actor="ledgerd")


class Claims(Protocol):
    """Who drives a promotion when several ``ledgerd`` share one ledger.

    ``claim(promotion_id)`` is a context manager yielding True when this process now
    owns the promotion (until the context ends or the process dies), False when
    another live process does. One process per ledger (SQLite) always owns them all.
    """

    def claim(self, promotion_id: str) -> AbstractContextManager[bool]: ...


class LocalClaims:
    """Claims for a ledger served by one process: every promotion is ours."""

    @contextmanager
    def claim(self, promotion_id: str) -> Iterator[bool]:
        yield True


def begin_next_queued(ledger: LedgerApplication, app: App, meta: Meta) -> Promotion | None:
    """When no promotion is in flight, begin the first queued one (returned to save)."""
    promotion_id = app.next_queued
    if not promotion_id:
        return None
    promotion = ledger.promotion(app.name, promotion_id)
    promotion.dequeue(meta, previous_release_id=app.active_release_id)
    app.begin_promotion(meta, promotion_id, promotion.release_id)
    return promotion


class Promoter:
    """Runs promotions in the background, one worker thread per promotion in flight."""

    def __init__(
        self,
        app: LedgerApplication,
        runtime: Runtime,
        max_workers: int = 16,
        claims: Claims | None = None,
    ):
        """``max_workers=0`` runs each promotion to its end inside ``submit`` (for tests)."""
        self.ledger = app
        self.runtime = runtime
        self.claims: Claims = claims or LocalClaims()
        self._executor = (
            ThreadPoolExecutor(max_workers, thread_name_prefix="promotion") if max_workers else None
        )
        self._cancelled: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, promotion_id: str) -> Future[None]:
        with self._lock:
            if promotion_id in self._cancelled:  # already running here (a retried request)
                done: Future[None] = Future()
                done.set_result(None)
                return done
            self._cancelled[promotion_id] = threading.Event()
        if self._executor is None:
            self._run_safely(promotion_id)
            finished: Future[None] = Future()
            finished.set_result(None)
            return finished
        return self._executor.submit(self._run_safely, promotion_id)

    def cancel(self, promotion_id: str) -> None:
        with self._lock:
            flag = self._cancelled.get(promotion_id)
        if flag is not None:
            flag.set()

    def resume(self, promotion_ids: list[str]) -> list[Future[None]]:
        """Run again the promotions a previous process left in flight."""
        return [self.submit(promotion_id) for promotion_id in promotion_ids]

    def close(self) -> None:
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=False)

    # -- the state machine ------------------------------------------------------

    def _run_safely(self, promotion_id: str) -> None:
        try:
            with self.claims.claim(promotion_id) as ours:
                if ours:
                    self._run(promotion_id)
        except Exception:
            log.exception("promotion %s stopped on an unexpected error", promotion_id)
        finally:
            with self._lock:
                self._cancelled.pop(promotion_id, None)

    def _run(self, promotion_id: str) -> None:
        promotion = self.ledger.promotion("", promotion_id)
        if promotion.status == PromotionStatus.PENDING and promotion.queued:
            return  # its turn comes when the promotion ahead of it settles
        if promotion.status == PromotionStatus.PENDING:
            self._transition(promotion_id, lambda p, changed: p.start(SYSTEM))
            promotion = self.ledger.promotion("", promotion_id)
        plan = self._plan(promotion)
        progress = _Progress(self, promotion_id)
        if promotion.status == PromotionStatus.RUNNING:
            cause = self._call(self.runtime.roll_out, plan, progress)
            if cause is None and not progress.cancelled():
                self._succeed(promotion_id)
                return
            if progress.cancelled():
                restore_cause = self._call(self.runtime.restore, plan, progress)
                self._cancel(promotion_id, restore_cause)
                return
            assert cause is not None
            self._fail(promotion_id, cause)
        elif promotion.status == PromotionStatus.FAILED:
            self._transition(promotion_id, lambda p, changed: p.start_rollback(SYSTEM))
        elif promotion.status != PromotionStatus.ROLLING_BACK:
            return
        restore_cause = self._call(self.runtime.restore, plan, progress)
        self._finish_rollback(promotion_id, restore_cause)

    def _call(
        self,
        action: Callable[[RolloutPlan, _Progress], Cause | None],
        plan: RolloutPlan,
        progress: _Progress,
    ) -> Cause | None:
        try:
            return action(plan, progress)
        except Exception as error:  # the runtime's failure is the promotion's failure
            log.exception("runtime %s failed", self.runtime.name)
            return Cause(CauseKind.RUNTIME_ERROR, f"{type(error).__name__}: {error}")

    def _plan(self, promotion: Promotion) -> RolloutPlan:
        target = self.spec(promotion.app, promotion.release_id)
        previous = (
            self.spec(promotion.app, promotion.previous_release_id)
            if promotion.previous_release_id
            else None
        )
        return RolloutPlan(
            promotion_id=promotion.promotion_id,
            app=promotion.app,
            target=target,
            previous=previous,
            deadline_seconds=promotion.deadline_seconds,
            started_at=promotion.started_at or promotion.created_on,
        )

    def spec(self, app: str, release_id: str) -> ReleaseSpec:
        """What the runtime needs to run a release."""
        release = self.ledger.release(app, release_id)
        return ReleaseSpec(
            app=app,
            release_id=release.release_id,
            version=release.release_version,
            build_id=release.build_id,
            image=release.image,
            env=dict(release.env),
            manifest=release.parsed_manifest,
            images=dict(release.images),
        )

    # -- recorded transitions -----------------------------------------------------

    def _succeed(self, promotion_id: str) -> None:
        def change(promotion: Promotion, changed: list[Aggregate]) -> None:
            app = self.ledger.app(promotion.app)
            promotion.succeed(SYSTEM)
            app.activate(SYSTEM, promotion_id, promotion.release_id)
            app.settle_promotion(SYSTEM, promotion_id, PromotionStatus.SUCCEEDED)
            changed.append(app)

        self._settle(promotion_id, change)

    def _fail(self, promotion_id: str, cause: Cause) -> None:
        def change(promotion: Promotion, changed: list[Aggregate]) -> None:
            promotion.fail(SYSTEM, cause)
            promotion.start_rollback(SYSTEM)

        self._transition(promotion_id, change)

    def _finish_rollback(self, promotion_id: str, cause: Cause | None) -> None:
        def change(promotion: Promotion, changed: list[Aggregate]) -> None:
            app = self.ledger.app(promotion.app)
            promotion.finish_rollback(SYSTEM, cause)
            app.settle_promotion(SYSTEM, promotion_id, promotion.status)
            changed.append(app)

        self._settle(promotion_id, change)

    def _cancel(self, promotion_id: str, restore_cause: Cause | None) -> None:
        message = "cancelled"
        if restore_cause is not None:
            message += f"; restoring the previous release failed: {restore_cause.message}"

        def change(promotion: Promotion, changed: list[Aggregate]) -> None:
            app = self.ledger.app(promotion.app)
            promotion.cancel(SYSTEM, Cause(CauseKind.CANCELLED, message))
            app.settle_promotion(SYSTEM, promotion_id, PromotionStatus.CANCELLED)
            changed.append(app)

        self._settle(promotion_id, change)

    def _settle(
        self, promotion_id: str, change: Callable[[Promotion, list[Aggregate]], None]
    ) -> None:
        """Record the end of a promotion, and in the same transaction begin the next queued."""
        following: list[str] = []

        def settle(promotion: Promotion, changed: list[Aggregate]) -> None:
            following.clear()  # the transaction may be retried on fresh state
            change(promotion, changed)
            app = next(a for a in changed if isinstance(a, App))
            next_promotion = begin_next_queued(self.ledger, app, SYSTEM)
            if next_promotion is not None:
                changed.append(next_promotion)
                following.append(next_promotion.promotion_id)

        self._transition(promotion_id, settle)
        for next_id in following:
            if not self._closed:
                self.submit(next_id)

    def record_step(self, promotion_id: str, kind: StepKind, message: str) -> None:
        self._transition(promotion_id, lambda p, changed: p.record_step(SYSTEM, kind, message))

    def _transition(
        self, promotion_id: str, change: Callable[[Promotion, list[Aggregate]], None]
    ) -> int:
        def handle(changed: list[Aggregate]) -> Outcome:
            promotion = self.ledger.promotion("", promotion_id)
            change(promotion, changed)
            changed.insert(0, promotion)
            return Outcome(app=promotion.app, promotion_id=promotion_id)

        app = self.ledger.promotion("", promotion_id).app
        return self.ledger.execute("PromotionStep", promotion_id, SYSTEM, handle, app).position

    def cancel_requested(self, promotion_id: str) -> bool:
        with self._lock:
            flag = self._cancelled.get(promotion_id)
        return flag is not None and flag.is_set()


class _Progress:
    """The runtime's line back to the ledger for one promotion."""

    def __init__(self, promoter: Promoter, promotion_id: str) -> None:
        self._promoter = promoter
        self._promotion_id = promotion_id
        self._checked_at = 0.0
        self._cancelled = False

    def step(self, kind: StepKind, message: str) -> None:
        self._promoter.record_step(self._promotion_id, kind, message)

    def cancelled(self) -> bool:
        if self._cancelled or self._promoter.cancel_requested(self._promotion_id):
            self._cancelled = True
        elif time.monotonic() - self._checked_at > 0.5:
            # Another ledgerd process may have taken the cancel request.
            self._checked_at = time.monotonic()
            promotion = self._promoter.ledger.promotion("", self._promotion_id)
            self._cancelled = promotion.cancel_requested
        return self._cancelled
