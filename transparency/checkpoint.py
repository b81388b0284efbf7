"""Signed checkpoints: a log's size, root hash and time, as a C2SP signed note.

Text form (C2SP ``tlog-checkpoint`` inside a C2SP ``signed-note``), every line ending in
``\\n``::

    <origin>                      e.g. ledger.example.com/log
    <size>                        decimal, no sign or leading zeros
    <root>                        standard base64 (RFC 4648 §4, padded) of the 32-byte root
    <timestamp>                   RFC 3339 in UTC: 2026-11-26T10:00:00Z, or with exactly six
                                  fraction digits (2026-11-26T10:00:00.250000Z) when the
                                  time has microseconds
    <empty line>
    — <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>

The first four lines are the *body*; the signature is over the body's exact bytes (UTF-8,
including its final newline). The timestamp is a checkpoint extension line, so Go's
``note`` and C2SP checkpoint verifiers accept these notes. A note may carry further
signature lines (e.g. witness cosignatures); lines by other keys are ignored. The body must
be canonical: parsing and re-rendering it gives the same bytes, so one checkpoint has one
text.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from transparency.errors import VerificationError
from transparency.hashing import HASH_SIZE
from transparency.keys import PrivateKey, PublicKey
from transparency.note import open_note, sign_note

_SIZE = re.compile(r"0|[1-9][0-9]*")
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{6}))?Z")


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z``; six fraction digits only if there are microseconds."""
    t = moment.astimezone(UTC)
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return text + (f".{t.microsecond:06d}Z" if t.microsecond else "Z")


def _parse_timestamp(text: str) -> datetime:
    match = _TIME.fullmatch(text)
    if match is None:
        raise VerificationError(f"malformed checkpoint: bad timestamp {text!r}")
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int(fraction or 0), tzinfo=UTC,
        )  # fmt: skip
    except ValueError as exc:
        raise VerificationError(f"malformed checkpoint: bad timestamp {text!r}: {exc}") from None


@dataclass(frozen=True)
class Checkpoint:
    """The claim "log ``origin`` had ``size`` entries with root hash ``root`` at ``timestamp``".

    ``timestamp`` must be timezone-aware; it is kept in UTC.
    """

    origin: str
    size: int
    root: bytes
    timestamp: datetime

    def __post_init__(self) -> None:
        if not self.origin or any(not c.isprintable() for c in self.origin):
            raise ValueError(f"invalid checkpoint origin {self.origin!r}")
        if type(self.size) is not int or self.size < 0:
            raise ValueError(f"invalid checkpoint size {self.size!r}")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"a root hash is {HASH_SIZE} bytes, got {len(self.root)}")
        if self.timestamp.utcoffset() is None:
            raise ValueError("a checkpoint timestamp must be timezone-aware")
        object.__setattr__(self, "timestamp", self.timestamp.astimezone(UTC))

    def body(self) -> str:
        """The four signed lines, in canonical form (see the module doc)."""
        root = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n{format_timestamp(self.timestamp)}\n"

    def describe(self) -> str:
        """A one-line human description, for messages."""
        root = base64.b64encode(self.root).decode("ascii")
        return f"size {self.size}, root {root}, {format_timestamp(self.timestamp)}"


def sign(checkpoint: Checkpoint, private_key: PrivateKey) -> str:
    """The signed note text of ``checkpoint``: body, blank line, one signature line."""
    return sign_note(checkpoint.body(), private_key)


def _parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")[:-1]
    if len(lines) != 4:
        raise VerificationError(
            f"malformed checkpoint: expected 4 body lines (origin, size, root, time), "
            f"got {len(lines)}"
        )
    origin, size_text, root_text, time_text = lines
    if not _SIZE.fullmatch(size_text):
        raise VerificationError(f"malformed checkpoint: bad size {size_text!r}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise VerificationError(f"malformed checkpoint: bad root {root_text!r}") from None
    try:
        checkpoint = Checkpoint(origin, int(size_text), root, _parse_timestamp(time_text))
    except ValueError as exc:
        raise VerificationError(f"malformed checkpoint: {exc}") from None
    if checkpoint.body() != body:
        raise VerificationError("malformed checkpoint: the body is not in canonical form")
    return checkpoint


def parse_and_verify(text: str, public_key: PublicKey, *, origin: str | None = None) -> Checkpoint:
    """The checkpoint in signed note ``text``, if ``public_key`` signed it.

    Raises :class:`VerificationError` if the text is not a well-formed signed checkpoint,
    carries no signature line by this key (name and key id), the signature does not verify
    (the body or the signature was altered), or ``origin`` is given and differs.
    """
    try:
        body = open_note(text, public_key)
    except VerificationError as exc:
        raise VerificationError(f"checkpoint: {exc}") from None
    checkpoint = _parse_body(body)
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
