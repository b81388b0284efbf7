"""RFC 6962 / RFC 9162 hashing, and the canonical leaf data of one stored event.

The tree hash is SHA-256 with the domain separation of RFC 9162 §2.1.1: a leaf is hashed
as ``SHA-256(0x00 || data)`` and an interior node as ``SHA-256(0x01 || left || right)``, so
a leaf can never be passed off as an interior node (second-preimage attack). The hash of
the empty tree is ``SHA-256("")``.

Leaf data format (version 1) — a contract between the server and every verifier
--------------------------------------------------------------------------------
The leaf of the event stored at log position ``p`` (positions start at 1; the event is the
tree's leaf ``p - 1``) is the UTF-8 encoding of one JSON object with exactly these five
members, written in this order (keys sorted by code point), with no whitespace at all::

    {"originator_id":"<id>","originator_version":<v>,"position":<p>,"state":"<b64>","topic":"<t>"}

- ``originator_id``: the aggregate id as stored (a UUID string in canonical form).
- ``originator_version``: the aggregate version, a non-negative decimal integer.
- ``position``: the global log position, a decimal integer >= 1. It is inside the leaf so
  that moving an event to another position (reordering history) changes its leaf hash.
- ``state``: the stored state bytes exactly as persisted (possibly compressed or encrypted:
  verifiers need no decryption key), in standard base64 with padding (RFC 4648 §4).
- ``topic``: the event's topic string as stored.

Integers have no sign, leading zeros, fraction or exponent. Strings are written as JSON
strings with ``\\"`` and ``\\\\`` for quote and backslash, ``\\b \\f \\n \\r \\t`` for those
control characters, and every other character outside printable ASCII (U+0020..U+007E) as
``\\uXXXX`` with lowercase hex (characters beyond U+FFFF as a UTF-16 surrogate pair). The
encoded leaf is therefore pure ASCII. This is what Python's
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`` produces.
Changing anything in this format changes every leaf hash, so it requires a new log (a new
checkpoint origin).
"""

from __future__ import annotations

import binascii
import hashlib
import json
from typing import Final

HASH_SIZE: Final = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

_LEAF_TEXT: Final = (
    '{"originator_id":%s,"originator_version":%d,"position":%d,"state":"%s","topic":%s}'
)
_json_string: Final = json.encoder.encode_basestring_ascii  # the C encoder when available

LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""MTH({}) — the root hash of the empty tree (RFC 9162 §2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the hash of one leaf (RFC 9162 §2.1.1)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node (RFC 9162 §2.1.1)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def event_leaf(
    position: int, originator_id: str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """The canonical leaf data of the event stored at ``position`` (format in the module doc).

    Raises ``ValueError`` for a position below 1, a negative version or a non-integer
    (``bool`` included), ``TypeError`` for non-string ids/topics or non-bytes state: an
    ill-typed value would silently produce a leaf no other implementation can reproduce.
    """
    for name, value, minimum in (
        ("position", position, 1),
        ("originator_version", originator_version, 0),
    ):
        if type(value) is not int:
            raise ValueError(f"{name} must be an int, not {type(value).__name__}")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if not isinstance(originator_id, str) or not isinstance(topic, str):
        raise TypeError("originator_id and topic must be str")
    if not isinstance(state, bytes | bytearray | memoryview):
        raise TypeError("state must be bytes")
    # What json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=True) writes for
    # these five keys, with one format string: every event is hashed, a rebuild hashes the
    # whole log, and this is about three times cheaper than building a dict and dumping it.
    text = _LEAF_TEXT % (
        _json_string(originator_id),
        originator_version,
        position,
        binascii.b2a_base64(state, newline=False).decode("ascii"),
        _json_string(topic),
    )
    return text.encode("ascii")


def event_leaf_hash(
    position: int, originator_id: str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """``leaf_hash(event_leaf(...))``: the tree leaf of one stored event."""
    return leaf_hash(event_leaf(position, originator_id, originator_version, topic, state))
