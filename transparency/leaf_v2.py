"""Leaf format version 2: the stored event AND its plaintext audit record, signed together.

In version 1 (:mod:`transparency.hashing`) a leaf commits to the event exactly as stored,
whose state is encrypted: an auditor without the cipher key could verify nothing about who
did what. A version 2 leaf also commits to the event's **audit record**, a plain JSON value
written by the server when the event is projected, so ``type``, ``app``, ``actor``,
``time``, ``request_id`` and ``data`` are signed by every checkpoint that includes the leaf.

Leaf data format (version 2) — a contract between the server and every verifier
--------------------------------------------------------------------------------
The leaf of the event at tree position ``p`` (leaf ``p - 1``) is the canonical JSON
encoding (below) of one object with exactly these six members::

    {"originator_id":"<id>","originator_version":<v>,"position":<p>,"record":{...},
     "state":"<b64>","topic":"<t>"}

The five members other than ``record`` are those of version 1, with the same meaning
(``state`` is the stored bytes in standard padded base64). ``record`` is the audit record,
a JSON object with exactly these members:

- ``position``: ``p`` again (a verifier checks that they are equal).
- ``log_position``: the log position the event is stored at (equal to ``p`` unless
  PostgreSQL skipped log positions after a failed write), an integer >= ``p``.
- ``type``: the event's public type, its ``topic`` without the ``ledger:`` prefix
  (``EnvChanged``); a verifier checks that too.
- ``app``, ``actor``, ``request_id``: strings, ``""`` when the event has none.
- ``time``: when the event was recorded, RFC 3339 in UTC with exactly six fraction digits
  and a ``Z``: ``2026-12-04T23:09:30.123456Z``.
- ``data``: an object, the event's own fields as the audit timeline shows them: every
  field but the ones above (and the aggregate's id, version and topic), with each secret
  value (an environment value) replaced by its keyed digest ``hmac-sha256:<16 hex>``
  (HMAC-SHA-256 under a key derived from the ledger's cipher key, so a rebuild gives the
  same digests and the auditor cannot brute-force short values), fields never shown left
  out, and build output replaced by its length (``text_length``). Events the timeline does
  not show (``RequestRecorded``, idempotency bookkeeping) have ``data`` ``{}``.

Values are JSON strings, integers, ``true``/``false``, ``null``, arrays and objects; the
ledger writes no fractional number. A value of another kind inside ``data`` (none today)
would be written as a string: a ``datetime`` as the ``time`` member is, a UUID in its
canonical form, an enum as its value, anything else as its Python ``str()``.

Canonical encoding: object members sorted by key (by code point), no whitespace, ``,``
and ``:`` as separators, integers in plain decimal, strings escaped as in version 1 (every
character outside printable ASCII as ``\\uXXXX``, lowercase hex, surrogate pairs beyond
U+FFFF; ``\\" \\\\ \\b \\f \\n \\r \\t`` for those). The leaf is therefore ASCII, and it is
what Python's ``json.dumps(leaf, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)`` produces. So a verifier that holds the record as any JSON parser
reads it re-encodes it to the same bytes: the readable record in a bundle IS what is
signed.

The leaf hash is RFC 9162's ``SHA-256(0x00 || leaf)``, as in version 1. A log of version 2
leaves is signed under its own checkpoint origin (:func:`origin`), so a monitor never sees
one origin with two roots for one size.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final
from uuid import UUID

from transparency.hashing import leaf_hash

LEAF_FORMAT: Final = 2
ORIGIN_SUFFIX: Final = "/v2"
RECORD_MEMBERS: Final = frozenset(
    {"position", "log_position", "type", "app", "actor", "request_id", "time", "data"}
)
TYPE_PREFIX: Final = "ledger:"
_TIME: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")

_LEAF_TEXT: Final = (
    '{"originator_id":%s,"originator_version":%d,"position":%d,"record":%s,"state":"%s","topic":%s}'
)
_RECORD_TEXT: Final = (
    '{"actor":%s,"app":%s,"data":%s,"log_position":%d,"position":%d,"request_id":%s,'
    '"time":"%s","type":%s}'
)
_json_string: Final = json.encoder.encode_basestring_ascii


def origin(base: str) -> str:
    """The checkpoint origin of the version 2 log of a ledger named ``base``."""
    return base + ORIGIN_SUFFIX


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as the record writes times: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if moment.tzinfo is UTC:  # the log's own times: skip the conversion
        return moment.isoformat(timespec="microseconds")[:-6] + "Z"
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place in the log")
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return text + "Z"


def _other(value: object) -> object:
    """What a value of no JSON kind is written as (see the module doc)."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=_other
)
_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
# The C encoder the line above builds on every call, built once: every event is encoded.
_FAST: Any = (
    None
    if _C_ENCODER is None
    else _C_ENCODER(
        None, _other, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, True
    )
)


def canonical(value: object) -> str:
    """The canonical JSON text of ``value`` (see the module doc)."""
    if _FAST is None or isinstance(value, str):
        return _ENCODER.encode(value)
    return "".join(_FAST(value, 0))


def record_json(
    position: int,
    log_position: int,
    type_: str,
    app: str,
    actor: str,
    request_id: str,
    time: datetime,
    data: str,
) -> str:
    """``canonical`` of the audit record with these members, ``data`` being the canonical
    text of its data, written with one format string (the tree hashes every event of the
    log, and this costs about half as much as building the record and encoding it)."""
    return _RECORD_TEXT % (
        _json_string(actor),
        _json_string(app),
        data,
        log_position,
        position,
        _json_string(request_id),
        rfc3339(time),
        _json_string(type_),
    )


def event_leaf_v2(
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
    record_text: str,
) -> bytes:
    """The version 2 leaf of an event whose audit record's canonical text is
    ``record_text`` (callers give :func:`canonical` of the record; a text that is not
    canonical gives a leaf no verifier reproduces)."""
    if type(position) is not int or position < 1:
        raise ValueError(f"position must be an int >= 1, got {position!r}")
    if type(originator_version) is not int or originator_version < 0:
        raise ValueError(f"originator_version must be an int >= 0, got {originator_version!r}")
    # One format string, as for version 1: a rebuild hashes the whole log.
    text = _LEAF_TEXT % (
        _json_string(originator_id),
        originator_version,
        position,
        record_text,
        binascii.b2a_base64(state, newline=False).decode("ascii"),
        _json_string(topic),
    )
    return text.encode("ascii")


def event_leaf_v2_hash(
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str,
    state: bytes,
    record: Mapping[str, Any],
) -> bytes:
    """The tree leaf of an event and its (parsed) audit record."""
    text = canonical(record)
    return leaf_hash(event_leaf_v2(position, originator_id, originator_version, topic, state, text))


def record_problems(position: int, topic: str, record: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``record`` as the audit record of the event at ``position`` with
    ``topic`` (empty when nothing): members, kinds, and agreement with the signed event."""
    problems: list[str] = []
    if missing := sorted(RECORD_MEMBERS - set(record)):
        problems.append(f"the record lacks {', '.join(missing)}")
    if extra := sorted(set(record) - RECORD_MEMBERS):
        problems.append(f"the record has unknown member(s) {', '.join(extra)}")
    if record.get("position") != position or type(record.get("position")) is not int:
        problems.append(f"the record's position is not {position}")
    log_position = record.get("log_position")
    if type(log_position) is not int or log_position < position:
        problems.append(f"the record's log_position is not an integer >= {position}")
    if record.get("type") != topic.removeprefix(TYPE_PREFIX):
        problems.append(f"the record's type is not the one of topic {topic!r}")
    for name in ("app", "actor", "request_id", "time"):
        if name in record and not isinstance(record[name], str):
            problems.append(f"the record's {name} is not a string")
    if isinstance(record.get("time"), str) and not _TIME.fullmatch(record["time"]):
        problems.append("the record's time is not RFC 3339 UTC with microseconds")
    if "data" in record and not isinstance(record["data"], dict):
        problems.append("the record's data is not an object")
    return problems
