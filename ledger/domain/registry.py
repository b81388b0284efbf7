"""Every event type the ledger writes to its log, taken from the aggregates' classes.

The type filter of the history, the audit timeline and the secrecy test read it here
rather than scan the log: the log holds no other types, and the list costs no query.
"""

from __future__ import annotations

from functools import cache

from eventsourcing.domain import Aggregate

from ledger.domain.app import App
from ledger.domain.base import LedgerEvent, event_type
from ledger.domain.build import Build
from ledger.domain.job import Job
from ledger.domain.key import Key
from ledger.domain.notification import NotificationTarget
from ledger.domain.promotion import Promotion
from ledger.domain.records import DeliveryRecord, Rack, RequestRecord
from ledger.domain.release import Release
from ledger.domain.workflow import Workflow

AGGREGATES: tuple[type[Aggregate], ...] = (
    App,
    Build,
    DeliveryRecord,
    Job,
    Key,
    Promotion,
    Rack,
    Release,
    RequestRecord,
    Workflow,
    NotificationTarget,
)
NOT_AUDITED: frozenset[type] = frozenset({RequestRecord.Created})
"""Events the audit timeline never shows (idempotency bookkeeping)."""


@cache
def event_classes() -> tuple[type[LedgerEvent], ...]:
    """Every concrete event class of the aggregates, ordered by type name."""
    found: dict[str, type[LedgerEvent]] = {}
    for aggregate in AGGREGATES:
        # By name on the aggregate itself: the library makes each aggregate class its own
        # subclass of the events it inherits (the App's of its Automation mixin).
        names = sorted({name for klass in aggregate.__mro__ for name in vars(klass)})
        for value in (getattr(aggregate, name, None) for name in names):
            if (
                isinstance(value, type)
                and issubclass(value, LedgerEvent)
                and value.TOPIC != LedgerEvent.TOPIC
            ):
                found[event_type(value.TOPIC)] = value
    return tuple(found[name] for name in sorted(found))


@cache
def audited_types() -> tuple[str, ...]:
    """The public names of the event types the audit timeline shows, sorted."""
    kinds = (kind for kind in event_classes() if kind not in NOT_AUDITED)
    return tuple(event_type(kind.TOPIC) for kind in kinds)
