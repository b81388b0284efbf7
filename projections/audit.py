"""The audit timeline's view of an event: its own fields, with environment values masked.

Every event of the log is shown except ``RequestRecorded`` (idempotency bookkeeping).
The data is the event's own fields as JSON; who, when, which app and which request are
columns of their own. Env values are replaced here, before anything is stored or handed
to a listener, so no view table and no watcher ever sees one: by a keyed hash
(:class:`ValueDigest`, so an auditor can see that a value changed, and to what it was
equal, without seeing it), or by ``***`` when no key is configured.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, NamedTuple

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Notification

from ledger.domain import App, Build, Release, RequestRecord
from projections.views import EventView

MASK = "***"
HIDDEN_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "app",
        "actor",
        "request_id",
        "token_hash",  # of a deploy key: no view shows it
    }
)
MASKED_FIELDS: dict[type[Any], str] = {App.EnvChanged: "values", Release.Created: "env"}
# Build output has a table of its own (build_logs); the timeline gives its size only, so
# that history and watchers are not flooded with it.
SIZED_FIELDS: dict[type[Any], str] = {Build.LogAppended: "text"}
NOT_AUDITED: frozenset[type[Any]] = frozenset({RequestRecord.Created})

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


class ValueDigest:
    """What an env value becomes in the audit views: ``hmac-sha256:<16 hex>`` under a key
    the ledger keeps secret (a plain hash of a short secret could be brute-forced)."""

    PREFIX = "hmac-sha256:"

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key

    def __call__(self, value: object) -> str:
        if self._key is None or not isinstance(value, str):
            return MASK
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return self.PREFIX + digest[:16]


MASKING = ValueDigest()  # no key: every value shows as ***


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


def audit_data(event: Any, digest: ValueDigest = MASKING) -> dict[str, Any]:
    """The event's own fields, env values digested, build output replaced by its length."""
    data = {k: v for k, v in vars(event).items() if k not in HIDDEN_FIELDS}
    masked = MASKED_FIELDS.get(type(event))
    if masked is not None and isinstance(data.get(masked), dict):
        data[masked] = {key: digest(value) for key, value in data[masked].items()}
    sized = SIZED_FIELDS.get(type(event))
    if sized is not None and isinstance(data.get(sized), str):
        data[f"{sized}_length"] = len(data.pop(sized))
    return data


def audit_entry(item: Projectable, digest: ValueDigest = MASKING) -> EventView | None:
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
        data=audit_data(event, digest),
    )


def to_json(value: object) -> str:
    """Compact, key-sorted JSON: equal values always give equal text."""
    if _FAST is None or isinstance(value, str):
        return _ENCODER.encode(value)
    return "".join(_FAST(value, 0))
