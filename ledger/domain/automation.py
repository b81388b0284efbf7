"""What an App records about the automation around it: the workflows that deploy it, their
automatic promotion paused after a rollback, the app archived (a closed review app), and
one-off commands run in its containers.

A mixin of :class:`~ledger.domain.App`, kept apart so that the App's own module stays
about releases and promotions; the events are the App's (same stream, same transaction).
*When* automatic promotion pauses or resumes is decided in :mod:`ledger.autopromote`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.domain.base import LedgerEvent, Meta
from ledger.errors import FailedPrecondition

MAX_COMMAND_TEXT = 2000


class Automation:
    """The App's automation state; class defaults keep older snapshots loadable."""

    name: str
    workflows: Sequence[str] = ()  # workflows that deploy this app (a list once set)
    auto_promotion_paused = ""  # why it is paused; "" when automatic promotion may run
    archived = False

    class WorkflowConnected(LedgerEvent):
        TOPIC = "ledger:WorkflowConnected"
        workflow: str

        def apply(self, aggregate: Any) -> None:
            aggregate.workflows = sorted({*aggregate.workflows, self.workflow})

    class WorkflowDisconnected(LedgerEvent):
        TOPIC = "ledger:WorkflowDisconnected"
        workflow: str

        def apply(self, aggregate: Any) -> None:
            aggregate.workflows = [w for w in aggregate.workflows if w != self.workflow]

    class AutoPromotionPaused(LedgerEvent):
        TOPIC = "ledger:AutoPromotionPaused"
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.auto_promotion_paused = self.reason

    class AutoPromotionResumed(LedgerEvent):
        TOPIC = "ledger:AutoPromotionResumed"
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.auto_promotion_paused = ""

    class Archived(LedgerEvent):
        TOPIC = "ledger:AppArchived"
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.archived = True

    class Restored(LedgerEvent):
        TOPIC = "ledger:AppRestored"
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.archived = False

    class CommandStarted(LedgerEvent):
        """A one-off command began; its text has env values hidden, its output is never
        recorded (it is the caller's alone)."""

        TOPIC = "ledger:CommandStarted"
        run_id: str
        release_id: str
        service: str
        command: str

    class CommandEnded(LedgerEvent):
        TOPIC = "ledger:CommandEnded"
        run_id: str
        exit_code: int

    # -- workflows ----------------------------------------------------------------------

    def connect_workflow(self, meta: Meta, workflow: str) -> None:
        if workflow not in self.workflows:
            self._record(self.WorkflowConnected, meta, workflow=workflow)

    def disconnect_workflow(self, meta: Meta, workflow: str) -> None:
        if workflow in self.workflows:
            self._record(self.WorkflowDisconnected, meta, workflow=workflow)
            if not self.workflows and self.auto_promotion_paused:
                self._record(self.AutoPromotionResumed, meta, reason="no workflow deploys it")

    @property
    def auto_deployed(self) -> bool:
        """Whether a workflow promotes this app automatically (so a rollback pauses it)."""
        return bool(self.workflows)

    def pause_auto_promotion(self, meta: Meta, reason: str) -> None:
        """Pause (again, with the newer reason, when paused already)."""
        if self.auto_promotion_paused != reason:
            self._record(self.AutoPromotionPaused, meta, reason=reason)

    def resume_auto_promotion(self, meta: Meta, reason: str) -> bool:
        if not self.auto_promotion_paused:
            return False
        self._record(self.AutoPromotionResumed, meta, reason=reason)
        return True

    # -- archiving ----------------------------------------------------------------------

    def archive(self, meta: Meta, reason: str) -> None:
        if not self.archived:
            self._record(self.Archived, meta, reason=reason)

    def restore(self, meta: Meta, reason: str) -> None:
        if self.archived:
            self._record(self.Restored, meta, reason=reason)

    def check_not_archived(self) -> None:
        if self.archived:
            raise FailedPrecondition(
                f"app {self.name} is archived (its history stays readable): nothing can "
                "be built or deployed on it"
            )

    # -- one-off commands ---------------------------------------------------------------

    def start_command(
        self, meta: Meta, run_id: str, release_id: str, service: str, command: str
    ) -> None:
        self.check_not_archived()
        self._record(
            self.CommandStarted,
            meta,
            run_id=run_id,
            release_id=release_id,
            service=service,
            command=command[:MAX_COMMAND_TEXT],
        )

    def end_command(self, meta: Meta, run_id: str, exit_code: int) -> None:
        self._record(self.CommandEnded, meta, run_id=run_id, exit_code=exit_code)

    def _record(self, kind: type[LedgerEvent], meta: Meta, **fields: Any) -> None:
        self.trigger_event(  # type: ignore[attr-defined]
            kind, app=self.name, actor=meta.actor, request_id=meta.request_id, **fields
        )
