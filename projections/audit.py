"""The audit timeline's view of an event: its own fields, with environment values masked.

Every event of the log is shown except those the domain does not audit (``RequestRecorded``,
idempotency bookkeeping). The data is the event's own fields as JSON; who, when, which app
and which request are columns of their own. Secret fields, as the domain declares them
(:mod:`ledger.domain.secrecy`), are masked here by the one mask, before anything is stored
or handed to a listener, so no view table and no watcher ever sees a value: digested
(``hmac-sha256:…``) under the ledger's audit key, or ``***`` when none is configured.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification

from ledger.domain import Build
from ledger.domain.registry import NOT_AUDITED
from ledger.domain.secrecy import HIDDEN, Mask, declared
from ledger.views import EventView
from transparency.leaf_v2 import canonical, record_json, rfc3339

COLUMN_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "app",
        "actor",
        "request_id",
    }
)
"""Fields every event has that the timeline shows as columns (or not at all), not as data."""
# Build output has a table of its own (build_logs); the timeline gives its size only, so
# that history and watchers are not flooded with it.
SIZED_FIELDS: dict[type[Any], str] = {Build.LogAppended: "text"}

_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str, check_circular=False
)
# The C encoder the line above would build on every call, built once (~30 % faster).
_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_FAST = (
    None
    if _C_ENCODER is None
    else _C_ENCODER(None, str, json.encoder.encode_basestring, None, ":", ",", True, False, True)
)


# Whether an event class declares a secret field (most do not): asked once per class.
_HAS_SECRETS: dict[type[Any], bool] = {}


class Projectable(NamedTuple):
    """A decoded event with its log position and public type (from its stored topic).

    ``stored`` is the record as persisted, which the Merkle tree hashes (the worker always
    passes it; a batch without it cannot be applied).
    """

    position: int
    type: str
    event: DomainEventProtocol[Any]
    stored: Notification | None = None


def audited(event: object) -> bool:
    return type(event) not in NOT_AUDITED


def audit_data(event: Any, mask: Mask = HIDDEN) -> dict[str, Any]:
    """The event's own fields, secrets masked, build output replaced by its length."""
    data = {k: v for k, v in vars(event).items() if k not in COLUMN_FIELDS}
    kind = type(event)
    secret = _HAS_SECRETS.get(kind)
    if secret is None:
        secret = _HAS_SECRETS[kind] = bool(declared(kind))
    if secret:  # the mask copies the fields: only for the events that declare secrets
        data = mask.fields(event, data)
    sized = SIZED_FIELDS.get(kind)
    if sized is not None and isinstance(data.get(sized), str):
        data[f"{sized}_length"] = len(data.pop(sized))
    return data


def audit_entry(item: Projectable, mask: Mask = HIDDEN) -> EventView | None:
    """The event as the audit timeline shows it; None if it is not shown."""
    event: Any = item.event
    if not audited(event):
        return None
    return EventView(
        position=item.position,
        type=item.type,
        app=getattr(event, "app", ""),
        actor=getattr(event, "actor", ""),
        time=event.timestamp,
        request_id=getattr(event, "request_id", ""),
        data=audit_data(event, mask),
    )


def audit_record(item: Projectable, tree_position: int, mask: Mask = HIDDEN) -> dict[str, Any]:
    """The audit record the event's tree leaf signs (format in :mod:`transparency.leaf_v2`):
    the timeline's columns and :func:`audit_data`, so the record masks exactly as the
    timeline does. Events the timeline does not show get their columns and no data."""
    event: Any = item.event
    return {
        "position": tree_position,
        "log_position": item.position,
        "type": item.type,
        "app": getattr(event, "app", ""),
        "actor": getattr(event, "actor", ""),
        "request_id": getattr(event, "request_id", ""),
        "time": rfc3339(event.timestamp),
        "data": audit_data(event, mask) if audited(event) else {},
    }


def record_text(
    item: Projectable, tree_position: int, mask: Mask = HIDDEN, data: str | None = None
) -> str:
    """The canonical JSON text of :func:`audit_record`, as the leaf holds it. ``data`` is
    ``canonical(audit_data(event, mask))`` when the caller made it already."""
    event: Any = item.event
    if data is None:
        data = canonical(audit_data(event, mask)) if audited(event) else "{}"
    return record_json(
        tree_position,
        item.position,
        item.type,
        getattr(event, "app", ""),
        getattr(event, "actor", ""),
        getattr(event, "request_id", ""),
        event.timestamp,
        data,
    )


def to_json(value: object) -> str:
    """Compact, key-sorted JSON: equal values always give equal text."""
    if _FAST is None or isinstance(value, str):
        return _ENCODER.encode(value)
    return "".join(_FAST(value, 0))
