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
from ledger.domain.base import event_type
from ledger.domain.registry import NOT_AUDITED
from ledger.domain.secrecy import HIDDEN, Mask, declared
from ledger.views import EventView
from projections.decoding import EventDecoder
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
    as_stored: dict[str, Any] | None = None  # the fields as stored, when upcasting changed them


def projectable(stored: Notification, decode: EventDecoder) -> Projectable:
    """The stored record read back from the log, decoded, ready to project."""
    event, as_stored = decode.with_stored_fields(stored)
    return Projectable(stored.id, event_type(stored.topic), event, stored, as_stored)


def audited(event: object) -> bool:
    return type(event) not in NOT_AUDITED


def audit_data(
    event: Any, mask: Mask = HIDDEN, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The event's own fields (or ``fields``, the event's as stored), secrets masked,
    build output replaced by its length."""
    given = vars(event) if fields is None else fields
    data = {k: v for k, v in given.items() if k not in COLUMN_FIELDS}
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
    signed = _signed_fields(item)
    return {
        "position": tree_position,
        "log_position": item.position,
        "type": item.type,
        "app": signed.get("app", ""),
        "actor": signed.get("actor", ""),
        "request_id": signed.get("request_id", ""),
        "time": rfc3339(signed["timestamp"]),
        "data": audit_data(event, mask, item.as_stored) if audited(event) else {},
    }


def _signed_fields(item: Projectable) -> dict[str, Any]:
    """The fields the audit record is made of: the event's as stored (see
    :meth:`projections.decoding.EventDecoder.with_stored_fields`)."""
    return vars(item.event) if item.as_stored is None else item.as_stored


def record_text(
    item: Projectable, tree_position: int, mask: Mask = HIDDEN, data: str | None = None
) -> str:
    """The canonical JSON text of :func:`audit_record`, as the leaf holds it. ``data`` is
    ``canonical(audit_data(event, mask))`` when the caller made it already."""
    event: Any = item.event
    if data is None or item.as_stored is not None:  # the timeline's text is of the upcast
        data = canonical(audit_data(event, mask, item.as_stored)) if audited(event) else "{}"
    signed = _signed_fields(item)
    return record_json(
        tree_position,
        item.position,
        item.type,
        signed.get("app", ""),
        signed.get("actor", ""),
        signed.get("request_id", ""),
        signed["timestamp"],
        data,
    )


def to_json(value: object) -> str:
    """Compact, key-sorted JSON: equal values always give equal text."""
    if _FAST is None or isinstance(value, str):
        return _ENCODER.encode(value)
    return "".join(_FAST(value, 0))
