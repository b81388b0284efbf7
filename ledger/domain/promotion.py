"""The Promotion aggregate: making a release active through the runtime.

States::

    pending → running → succeeded
                      ↘ failed → rolling_back → rolled_back | rollback_failed
    pending | running → cancelled

Every step the runtime reports is recorded, so a promotion's timeline is in the log.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.domain.rollout import Cause, StepKind
from ledger.errors import FailedPrecondition
from ledger.ids import PROMOTION, aggregate_id


class PromotionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """The promotion is over: nothing will change it any more."""
        return self in _TERMINAL

    @property
    def cancellable(self) -> bool:
        """A person may still cancel it (a rollback under way is not stopped)."""
        return self in _CANCELLABLE


_CANCELLABLE = {PromotionStatus.PENDING, PromotionStatus.RUNNING}
_TERMINAL = {
    PromotionStatus.SUCCEEDED,
    PromotionStatus.ROLLED_BACK,
    PromotionStatus.ROLLBACK_FAILED,
    PromotionStatus.CANCELLED,
}


class Promotion(Aggregate):
    """One attempt to make a release the app's active release."""

    TOPIC = "ledger:Promotion"
    queued = False  # class-level default: snapshots older than queueing still load

    class Created(LedgerEvent, Aggregate.Created):
        """The promotion was requested (status pending)."""

        TOPIC = "ledger:PromotionRequested"
        class_version = 2
        promotion_id: str
        release_id: str
        previous_release_id: str
        deadline_seconds: int
        description: str
        queued: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["queued"] = False

    class Dequeued(LedgerEvent):
        """A queued promotion's turn came: it replaces the release active at this moment."""

        TOPIC = "ledger:PromotionDequeued"
        promotion_id: str
        previous_release_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.queued = False
            aggregate.previous_release_id = self.previous_release_id

    class Started(LedgerEvent):
        TOPIC = "ledger:PromotionStarted"
        promotion_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = PromotionStatus.RUNNING
            aggregate.started_at = self.timestamp

    class StepRecorded(LedgerEvent):
        TOPIC = "ledger:PromotionStepRecorded"
        promotion_id: str
        kind: str
        message: str

        def apply(self, aggregate: Any) -> None:
            pass

    class Succeeded(LedgerEvent):
        TOPIC = "ledger:PromotionSucceeded"
        promotion_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = PromotionStatus.SUCCEEDED

    class Failed(LedgerEvent):
        TOPIC = "ledger:PromotionFailed"
        promotion_id: str
        cause: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.status = PromotionStatus.FAILED
            aggregate.cause = self.cause

    class RollbackStarted(LedgerEvent):
        TOPIC = "ledger:PromotionRollbackStarted"
        promotion_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = PromotionStatus.ROLLING_BACK

    class RolledBack(LedgerEvent):
        TOPIC = "ledger:PromotionRolledBack"
        promotion_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = PromotionStatus.ROLLED_BACK

    class RollbackFailed(LedgerEvent):
        TOPIC = "ledger:PromotionRollbackFailed"
        promotion_id: str
        cause: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.status = PromotionStatus.ROLLBACK_FAILED

    class CancelRequested(LedgerEvent):
        TOPIC = "ledger:PromotionCancelRequested"
        promotion_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.cancel_requested = True

    class Cancelled(LedgerEvent):
        TOPIC = "ledger:PromotionCancelled"
        promotion_id: str
        cause: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.status = PromotionStatus.CANCELLED
            aggregate.cause = self.cause

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        promotion_id: str,
        release_id: str,
        previous_release_id: str,
        deadline_seconds: int,
        description: str,
        queued: bool = False,
    ) -> None:
        self.app = app
        self.queued = queued
        self.promotion_id = promotion_id
        self.release_id = release_id
        self.previous_release_id = previous_release_id
        self.deadline_seconds = deadline_seconds
        self.description = description
        self.status = PromotionStatus.PENDING
        self.cause: dict[str, Any] = {}
        self.cancel_requested = False
        self.started_at: Any = None

    @staticmethod
    def create_id(promotion_id: str, **_: Any) -> Any:
        return aggregate_id(PROMOTION, promotion_id)

    @classmethod
    def request(
        cls,
        meta: Meta,
        *,
        app: str,
        promotion_id: str,
        release_id: str,
        previous_release_id: str,
        deadline_seconds: int,
        description: str,
        queued: bool = False,
    ) -> Promotion:
        return cls(
            app=app,
            actor=meta.actor,
            request_id=meta.request_id,
            promotion_id=promotion_id,
            release_id=release_id,
            previous_release_id=previous_release_id,
            deadline_seconds=deadline_seconds,
            description=description,
            queued=queued,
        )

    def dequeue(self, meta: Meta, previous_release_id: str) -> None:
        self._expect(PromotionStatus.PENDING)
        if not self.queued:
            raise FailedPrecondition(f"promotion {self.promotion_id} is not queued")
        self.trigger_event(
            self.Dequeued, **self._stamp(meta), previous_release_id=previous_release_id
        )

    def start(self, meta: Meta) -> None:
        self._expect(PromotionStatus.PENDING)
        if self.queued:
            raise FailedPrecondition(f"promotion {self.promotion_id} is queued")
        self.trigger_event(self.Started, **self._stamp(meta))

    def record_step(self, meta: Meta, kind: StepKind, message: str) -> None:
        self._expect(PromotionStatus.RUNNING, PromotionStatus.ROLLING_BACK)
        self.trigger_event(
            self.StepRecorded, **self._stamp(meta), kind=StepKind(kind).value, message=message
        )

    def succeed(self, meta: Meta) -> None:
        self._expect(PromotionStatus.RUNNING)
        self.trigger_event(self.Succeeded, **self._stamp(meta))

    def fail(self, meta: Meta, cause: Cause) -> None:
        self._expect(PromotionStatus.RUNNING)
        self.trigger_event(self.Failed, **self._stamp(meta), cause=cause.to_dict())

    def start_rollback(self, meta: Meta) -> None:
        self._expect(PromotionStatus.FAILED)
        self.trigger_event(self.RollbackStarted, **self._stamp(meta))

    def finish_rollback(self, meta: Meta, cause: Cause | None) -> None:
        self._expect(PromotionStatus.ROLLING_BACK)
        if cause is None:
            self.trigger_event(self.RolledBack, **self._stamp(meta))
        else:
            self.trigger_event(self.RollbackFailed, **self._stamp(meta), cause=cause.to_dict())

    def request_cancel(self, meta: Meta) -> None:
        self._expect(*_CANCELLABLE)
        if not self.cancel_requested:
            self.trigger_event(self.CancelRequested, **self._stamp(meta))

    def cancel(self, meta: Meta, cause: Cause) -> None:
        self._expect(*_CANCELLABLE)
        self.trigger_event(self.Cancelled, **self._stamp(meta), cause=cause.to_dict())

    def _stamp(self, meta: Meta) -> dict[str, Any]:
        return {
            "app": self.app,
            "actor": meta.actor,
            "request_id": meta.request_id,
            "promotion_id": self.promotion_id,
        }

    def _expect(self, *statuses: PromotionStatus) -> None:
        if self.status not in statuses:
            raise FailedPrecondition(f"promotion {self.promotion_id} is {self.status}")
