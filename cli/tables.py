"""Human output: aligned tables, key/value blocks and short cell formats.

Text from the server (descriptions, actors, reasons) is printed with control characters
escaped, so a crafted description cannot move the cursor or forge lines on a terminal.
Times are shown in UTC to the second (``2026-11-26T19:28:08Z``): short, yet unambiguous
across time zones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

MISSING = "-"
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def clean(text: str) -> str:
    """``text`` with control characters escaped (one line, nothing a terminal obeys)."""
    return text.translate(_CONTROL)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, right: Iterable[int] = ()
) -> str:
    """Columns aligned on the widest cell, two spaces apart, trailing spaces trimmed.

    ``right`` lists the indexes of columns to right-align (numbers). The header row is
    always printed, so an empty list still says what it would have shown.
    """
    right_aligned = set(right)
    cells = [[clean(h) for h in headers]] + [[clean(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if i in right_aligned else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def key_values(pairs: Iterable[tuple[str, str]]) -> str:
    """A block of ``Label   value`` lines with the values aligned."""
    items = [(clean(k), clean(v)) for k, v in pairs]
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join(f"{k.ljust(width)}  {v}".rstrip() for k, v in items)


def when(message: Message, field: str) -> str:
    """``message.<field>`` as ``2026-11-26T19:28:08Z``, or ``-`` when unset."""
    if not message.HasField(field):
        return MISSING
    value = getattr(message, field)
    assert isinstance(value, timestamp_pb2.Timestamp)
    return short_time(value.ToDatetime(tzinfo=UTC))


def short_time(moment: datetime) -> str:
    """A UTC time to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def elapsed(message: Message, start: str, end: str) -> str:
    """The time between two timestamp fields as ``45s``, ``3m04s`` or ``2h05m``."""
    if not (message.HasField(start) and message.HasField(end)):
        return MISSING
    begin = getattr(message, start)
    finish = getattr(message, end)
    assert isinstance(begin, timestamp_pb2.Timestamp)
    assert isinstance(finish, timestamp_pb2.Timestamp)
    seconds = max(0, finish.seconds - begin.seconds)
    return duration_text(seconds)


def age(message: Message, field: str, now: datetime) -> str:
    """How long ago ``message.<field>`` was, as ``45s ago`` or ``3m04s ago``; ``-`` when unset."""
    if not message.HasField(field):
        return MISSING
    value = getattr(message, field)
    assert isinstance(value, timestamp_pb2.Timestamp)
    seconds = int((now - value.ToDatetime(tzinfo=UTC)).total_seconds())
    return f"{duration_text(max(0, seconds))} ago"


def duration_text(seconds: int) -> str:
    """``45s``, ``3m04s``, ``2h05m``."""
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def version(number: int) -> str:
    """``v3``; ``-`` for 0 (no release)."""
    return f"v{number}" if number else MISSING


def text(value: str) -> str:
    """A possibly empty string cell."""
    return value or MISSING


def short_sha(sha: str) -> str:
    """The first 7 characters of a commit's sha (git's short form); ``-`` when none."""
    return sha[:7] or MISSING


def first_line(message: str) -> str:
    """The first line of a commit message (its subject)."""
    return message.strip().split("\n", 1)[0].strip()
