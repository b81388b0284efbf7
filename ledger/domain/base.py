"""What every ledger event carries, and how its type is named."""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.domain import Aggregate

TOPIC_PREFIX = "ledger:"


@dataclass(frozen=True)
class Meta:
    """Who asked and under which request id: stamped on every event a command records."""

    actor: str
    request_id: str = ""


class LedgerEvent(Aggregate.Event):
    """Base of every event: the app concerned ('' for ledger-wide events), actor, request."""

    TOPIC = "ledger:LedgerEvent"
    app: str
    actor: str
    request_id: str


def event_type(topic: str) -> str:
    """The public type name of an event (``EnvChanged``) from its stored topic."""
    return topic.removeprefix(TOPIC_PREFIX)
