"""Runs promotions: the worker threads, the claims and the runtime calls.

A promotion is requested by a command (status pending) and then run here, in a
worker thread, because a real rollout can take minutes. Every transition (started, a
step the runtime reports, succeeded or failed, rolled back, cancelled) is a step of
:mod:`ledger.lifecycle`, recorded in its own transaction: the rules are there, this
module only decides when to call the runtime. After a crash, :meth:`Promoter.resume`
runs every promotion still in flight again from where the ledger says it is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from ledger import lifecycle
from ledger.application import Decision, LedgerApplication
from ledger.commands import Outcome
from ledger.domain import Cause, CauseKind, Meta, Promotion, StepKind
from ledger.domain.promotion import PromotionStatus
from ledger.domain.secrecy import HIDDEN
from ledger.runtime import ReleaseSpec, RolloutPlan, Runtime

log = logging.getLogger(__name__)
SYSTEM = Meta(actor="ledgerd")
Step = Callable[[Promotion], lifecycle.Changes]


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
            promotion = self._step(promotion_id, lambda p: lifecycle.start(p, SYSTEM))
        plan = self._plan(promotion)
        progress = _Progress(self, promotion_id, _secrets(plan))
        if promotion.status == PromotionStatus.RUNNING:
            cause = self._call(self.runtime.roll_out, plan, progress)
            if progress.cancelled():
                restore_cause = self._call(self.runtime.restore, plan, progress)
                self._record(
                    promotion_id,
                    lambda p: lifecycle.finish_cancel(self.ledger, p, SYSTEM, restore_cause),
                )
                return
            promotion = self._step(
                promotion_id, lambda p: lifecycle.finish_rollout(self.ledger, p, SYSTEM, cause)
            )
        elif promotion.status == PromotionStatus.FAILED:  # found so after a restart
            promotion = self._step(promotion_id, lambda p: lifecycle.start_rollback(p, SYSTEM))
        if promotion.status != PromotionStatus.ROLLING_BACK:
            return
        restore_cause = self._call(self.runtime.restore, plan, progress)
        self._record(
            promotion_id,
            lambda p: lifecycle.finish_rollback(self.ledger, p, SYSTEM, restore_cause),
        )

    def _call(
        self,
        action: Callable[[RolloutPlan, _Progress], Cause | None],
        plan: RolloutPlan,
        progress: _Progress,
    ) -> Cause | None:
        try:
            cause = action(plan, progress)
        except Exception as error:  # the runtime's failure is the promotion's failure
            log.exception("runtime %s failed", self.runtime.name)
            cause = Cause(CauseKind.RUNTIME_ERROR, f"{type(error).__name__}: {error}")
        # What a process wrote may hold its secrets: none reaches the log, whatever runtime.
        return cause.hiding(_secrets(plan)) if cause is not None else None

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
        return ReleaseSpec.of(self.ledger.release(app, release_id))

    # -- recorded transitions -----------------------------------------------------

    def record_step(self, promotion_id: str, kind: StepKind, message: str) -> None:
        self._record(promotion_id, lambda p: lifecycle.record_step(p, SYSTEM, kind, message))

    def _step(self, promotion_id: str, step: Step) -> Promotion:
        """Record ``step``; the promotion as it is now."""
        self._record(promotion_id, step)
        return self.ledger.promotion("", promotion_id)

    def _record(self, promotion_id: str, step: Step) -> None:
        """Record ``step`` of the promotion in one transaction, then run the queued
        promotion that began because this one settled."""

        def handle() -> Decision:
            promotion = self.ledger.promotion("", promotion_id)
            changes = step(promotion)
            outcome = Outcome(
                app=promotion.app,
                promotion_id=promotion_id,
                next_promotion_id=changes.next_promotion_id,
            )
            return Decision(outcome, changes.changed)

        app = self.ledger.promotion("", promotion_id).app
        outcome = self.ledger.execute("PromotionStep", promotion_id, SYSTEM, handle, app)
        if outcome.next_promotion_id and not self._closed:
            self.submit(outcome.next_promotion_id)

    def cancel_requested(self, promotion_id: str) -> bool:
        with self._lock:
            flag = self._cancelled.get(promotion_id)
        return flag is not None and flag.is_set()


def _secrets(plan: RolloutPlan) -> list[str]:
    """The env values of the releases a promotion deals with."""
    releases = (plan.target, plan.previous)
    return [value for spec in releases if spec is not None for value in spec.env.values()]


class _Progress:
    """The runtime's line back to the ledger for one promotion; the env values of its
    releases are hidden in every step message on the way (see ``Cause.hiding``)."""

    def __init__(self, promoter: Promoter, promotion_id: str, secrets: list[str]) -> None:
        self._promoter = promoter
        self._promotion_id = promotion_id
        self._secrets = secrets
        self._checked_at = 0.0
        self._cancelled = False

    def step(self, kind: StepKind, message: str) -> None:
        self._promoter.record_step(self._promotion_id, kind, HIDDEN.text(message, self._secrets))

    def cancelled(self) -> bool:
        if self._cancelled or self._promoter.cancel_requested(self._promotion_id):
            self._cancelled = True
        elif time.monotonic() - self._checked_at > 0.5:
            # Another ledgerd process may have taken the cancel request.
            self._checked_at = time.monotonic()
            promotion = self._promoter.ledger.promotion("", self._promotion_id)
            self._cancelled = promotion.cancel_requested
        return self._cancelled
