"""The NotificationTarget aggregate: an HTTP receiver the ledger's events are sent to.

A target is domain state so that who added or removed a receiver, and what it was sent,
is in the audited log like every other change. Its signing secret is declared
:data:`Unlisted`: stored encrypted with the rest of the log, shown by no view (the use
case returns it once, to whoever created the target).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.domain.secrecy import Unlisted
from ledger.errors import FailedPrecondition
from ledger.ids import aggregate_id


class NotificationTarget(Aggregate):
    """Where events matching ``events`` (of ``app``, or of every app) are delivered."""

    TOPIC = "ledger:NotificationTarget"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:NotificationTargetCreated"
        target_id: str
        url: str
        events: list[str]
        format: str
        secret: Unlisted

    class Deleted(LedgerEvent):
        TOPIC = "ledger:NotificationTargetDeleted"
        target_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.deleted = True

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        target_id: str,
        url: str,
        events: list[str],
        format: str,
        secret: str,
    ) -> None:
        self.app = app
        self.target_id = target_id
        self.url = url
        self.events = list(events)
        self.format = format
        self.secret = secret
        self.deleted = False

    @staticmethod
    def create_id(target_id: str, **_: Any) -> Any:
        return aggregate_id("notification-target", target_id)

    @classmethod
    def create(
        cls,
        meta: Meta,
        *,
        target_id: str,
        url: str,
        events: list[str],
        app: str,
        format: str,
        secret: str,
    ) -> NotificationTarget:
        """A new target (its url, patterns, app and format checked by the use case)."""
        return cls(
            app=app,
            actor=meta.actor,
            request_id=meta.request_id,
            target_id=target_id,
            url=url,
            events=list(events),
            format=format,
            secret=secret,
        )

    def delete(self, meta: Meta) -> None:
        """Stop sending to this target (its history, and its deliveries', stay)."""
        if self.deleted:
            raise FailedPrecondition(f"notification target {self.target_id} was deleted")
        self.trigger_event(
            self.Deleted,
            app=self.app,
            actor=meta.actor,
            request_id=meta.request_id,
            target_id=self.target_id,
        )
