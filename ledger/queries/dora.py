"""The four DORA metrics, computed over plain records of ended promotions.

Pure arithmetic: no read model, no clock; the window and its periods are
:mod:`ledger.queries.dora_window`'s. :mod:`ledger.queries.deploy_metrics` reads the
promotions (with their releases and builds) from the views into :class:`Deployment`
records and hands them here. The definitions are those of ``docs/dora.md``:

- **deployment frequency**: promotions that succeeded (rollbacks and env changes
  included: each made a release live), per period and on average per day;
- **lead time for changes**: from the change (its commit's time when the build's
  provenance carries one, else the build's creation) to the end of the first promotion
  that made its release live; releases made by builds only;
- **change failure rate**: ended promotions that failed (rolled back or rollback failed)
  or that a person rolled back within :data:`ROLLBACK_WINDOW`, over every ended promotion
  (cancelled ones are in neither count);
- **time to restore**: from the start of a failure (the failed promotion's start, or the
  request of the person's rollback) to the end of the app's next promotion that succeeded.

A figure belongs to the period of its moment: a deployment to its end, a failure to the
end of the failing promotion, a restore to the start of the failure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ledger.queries.dora_window import DEFAULT_DAYS as DEFAULT_DAYS
from ledger.queries.dora_window import Period as Period
from ledger.queries.dora_window import Window as Window
from ledger.queries.dora_window import window as window

ROLLBACK_WINDOW = timedelta(hours=24)
"""A person's rollback this soon after a promotion went live marks that promotion failed."""

SUCCEEDED = "succeeded"
FAILED = frozenset({"rolled_back", "rollback_failed"})
ENDED = FAILED | {SUCCEEDED}  # cancelled promotions are left out of every metric


@dataclass(frozen=True)
class Deployment:
    """One ended promotion as the metrics see it.

    ``change_at`` is when the change it delivers began (None: not a change of code, such
    as an env change or a rollback), and ``change_base`` says from what: ``commit`` or
    ``build``.
    """

    app: str
    promotion_id: str
    release_id: str
    previous_release_id: str
    status: str
    requested_at: datetime
    started_at: datetime | None
    ended_at: datetime
    rollback: bool = False
    change_at: datetime | None = None
    change_base: str = ""

    @property
    def failure_start(self) -> datetime:
        return self.started_at or self.requested_at


@dataclass(frozen=True)
class Point:
    """One period: its span, its figure (None: nothing to measure) and its sample size."""

    start: datetime
    end: datetime
    value: float | None
    count: int


@dataclass(frozen=True)
class Figure:
    """A metric over the window, and per period."""

    value: float | None
    count: int
    series: tuple[Point, ...]
    p90: float | None = None


@dataclass(frozen=True)
class Metrics:
    """The four metrics over one window (of one app, or of several pooled)."""

    window: Window
    frequency: Figure  # value: per day; points: deployments
    lead_time: Figure  # seconds: median (p90)
    lead_time_base: str  # commit | build | mixed | '' (no sample)
    failure_rate: Figure  # failures / ended promotions
    failures: int
    time_to_restore: Figure  # seconds: median (p90)
    unrestored: int  # failures not restored by the window's end
    rollback_window: timedelta = ROLLBACK_WINDOW
    apps: tuple[str, ...] = field(default=())  # the apps measured


def compute(
    records: Iterable[Deployment], span: Window, rollback_window: timedelta = ROLLBACK_WINDOW
) -> Metrics:
    """The metrics of ``records`` (any apps, any order) over ``span``.

    Records should reach back far enough for the rules that look at the past: to each
    release's first activation, and to the success before the window's first failure.
    """
    by_app: dict[str, list[Deployment]] = {}
    for record in records:
        if record.status in ENDED and record.ended_at < span.end:
            by_app.setdefault(record.app, []).append(record)
    deployed: list[datetime] = []
    leads: list[tuple[datetime, float, str]] = []
    ended: list[tuple[datetime, bool]] = []
    restores: list[tuple[datetime, float]] = []
    unrestored = 0
    for app_records in by_app.values():
        app_records.sort(key=lambda r: r.ended_at)
        failed = _failed(app_records, rollback_window)
        deployed += [r.ended_at for r in app_records if r.status == SUCCEEDED]
        leads += _lead_times(app_records)
        ended += [(r.ended_at, r.promotion_id in failed) for r in app_records]
        app_restores, still_open = _restores(app_records, failed)
        restores += app_restores
        unrestored += int(still_open is not None and span.holds(still_open))
    buckets = span.buckets()
    leads = [lead for lead in leads if span.holds(lead[0])]
    restores = [restore for restore in restores if span.holds(restore[0])]
    ended = [item for item in ended if span.holds(item[0])]
    deployed = [moment for moment in deployed if span.holds(moment)]
    failures = sum(1 for _, failure in ended if failure)
    return Metrics(
        window=span,
        frequency=_frequency(deployed, span, buckets),
        lead_time=_durations([(at, seconds) for at, seconds, _ in leads], buckets),
        lead_time_base=_base({base for _, _, base in leads}),
        failure_rate=_rates(ended, buckets),
        failures=failures,
        time_to_restore=_durations(restores, buckets),
        unrestored=unrestored,
        rollback_window=rollback_window,
        apps=tuple(sorted(by_app)),
    )


def _failed(records: Sequence[Deployment], rollback_window: timedelta) -> set[str]:
    """Ids of the promotions that failed, or that a person rolled back in time: the app's
    next promotion after it went live restores another release within the window."""
    failed = {r.promotion_id for r in records if r.status in FAILED}
    for index, record in enumerate(records):
        if record.status != SUCCEEDED:
            continue
        # An app's promotions run one at a time: the next one asked for after this one
        # ended is the first such in the order they ended.
        following = next(
            (r for r in records[index + 1 :] if r.requested_at >= record.ended_at), None
        )
        if (
            following is not None
            and following.rollback
            and following.previous_release_id == record.release_id
            and following.requested_at - record.ended_at <= rollback_window
        ):
            failed.add(record.promotion_id)
    return failed


def _lead_times(records: Sequence[Deployment]) -> list[tuple[datetime, float, str]]:
    """(went live, seconds from the change, base) of each release's first activation."""
    seen: set[str] = set()
    found = []
    for record in records:
        if record.status != SUCCEEDED or record.release_id in seen:
            continue
        seen.add(record.release_id)
        if record.change_at is not None:
            seconds = max(0.0, (record.ended_at - record.change_at).total_seconds())
            found.append((record.ended_at, seconds, record.change_base))
    return found


def _restores(
    records: Sequence[Deployment], failed: set[str]
) -> tuple[list[tuple[datetime, float]], datetime | None]:
    """(failure start, seconds to restore) of each incident of an app, and the start of
    the incident still open at the end (None: none). Failures before a restore are one
    incident, from the first."""
    found = []
    opened: datetime | None = None
    for index, record in enumerate(records):
        previous = records[index - 1] if index else None
        if opened is None:
            if record.status in FAILED:
                opened = record.failure_start
            elif record.rollback and previous is not None and previous.promotion_id in failed:
                opened = record.requested_at  # a person's rollback of a failed change
        if record.status == SUCCEEDED and opened is not None:
            found.append((opened, max(0.0, (record.ended_at - opened).total_seconds())))
            opened = None
    return found, opened


def _frequency(
    deployed: Sequence[datetime], span: Window, buckets: Sequence[tuple[datetime, datetime]]
) -> Figure:
    points = []
    for start, end in buckets:
        count = sum(1 for moment in deployed if start <= moment < end)
        points.append(Point(start, end, float(count), count))
    average = len(deployed) / span.days if span.days > 0 else None
    return Figure(average, len(deployed), tuple(points))


def _durations(
    samples: Sequence[tuple[datetime, float]], buckets: Sequence[tuple[datetime, datetime]]
) -> Figure:
    points = []
    for start, end in buckets:
        inside = [seconds for moment, seconds in samples if start <= moment < end]
        points.append(Point(start, end, median(inside), len(inside)))
    values = [seconds for _, seconds in samples]
    return Figure(median(values), len(values), tuple(points), p90(values))


def _rates(
    ended: Sequence[tuple[datetime, bool]], buckets: Sequence[tuple[datetime, datetime]]
) -> Figure:
    points = []
    for start, end in buckets:
        inside = [failure for moment, failure in ended if start <= moment < end]
        points.append(Point(start, end, _ratio(inside), len(inside)))
    return Figure(_ratio([failure for _, failure in ended]), len(ended), tuple(points))


def _ratio(failures: Sequence[bool]) -> float | None:
    return sum(failures) / len(failures) if failures else None


def _base(bases: set[str]) -> str:
    if len(bases) > 1:
        return "mixed"
    return next(iter(bases), "")


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by nearest rank: the smallest value with 90% at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[math.ceil(0.9 * len(ordered)) - 1])
