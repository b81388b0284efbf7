"""The window the deploy metrics measure, and the periods it is cut into.

A window is the last N days before a moment (``start <= t < end``), or all time; its
periods are UTC days, ISO weeks (from Monday) or the whole window, clipped to it. See
``docs/dora.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ledger.errors import InvalidArgument

DAY = timedelta(days=1)
MAX_DAYS = {"day": 366, "week": 3660, "all": 3660}
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # a window's end: no overflow of its arithmetic
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class Period(StrEnum):
    """How a window is cut into points: UTC days, ISO weeks (from Monday) or one point."""

    DAY = "day"
    WEEK = "week"
    ALL = "all"


DEFAULT_DAYS = {Period.DAY: 30, Period.WEEK: 84, Period.ALL: 0}
"""The window when none is asked for (0: all time)."""


@dataclass(frozen=True)
class Window:
    """The span measured, ``start <= t < end``, and how it is cut into points."""

    period: Period
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def buckets(self) -> list[tuple[datetime, datetime]]:
        """The points' spans: UTC days or weeks clipped to the window, or the window."""
        if self.period is Period.ALL or self.start >= self.end:
            return [(self.start, self.end)]
        step = DAY if self.period is Period.DAY else 7 * DAY
        boundary = _midnight(self.start)
        if self.period is Period.WEEK:
            boundary -= boundary.weekday() * DAY
        spans = []
        while boundary < self.end:
            spans.append((max(boundary, self.start), min(boundary + step, self.end)))
            boundary += step
        return spans


def window(period: str, days: int, end: datetime, first: datetime | None = None) -> Window:
    """The window of the last ``days`` days before ``end`` (0: the period's default; for
    ``all``, all time: from the UTC midnight before ``first``, the oldest promotion)."""
    try:
        cut = Period(period or Period.DAY)
    except ValueError:
        raise InvalidArgument(f"period must be day, week or all, not {period[:20]!r}") from None
    if days < 0 or days > MAX_DAYS[cut]:
        raise InvalidArgument(f"days must be between 0 and {MAX_DAYS[cut]} for period {cut}")
    if not EARLIEST <= end <= LATEST:
        raise InvalidArgument("until must fall between the years 1970 and 9000")
    days = days or DEFAULT_DAYS[cut]
    if days:
        return Window(cut, end - days * DAY, end)
    return Window(cut, _midnight(first) if first and first < end else end, end)


def _midnight(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
