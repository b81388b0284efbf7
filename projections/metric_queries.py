"""Delivery totals for monitoring, aggregated in SQL from the projection tables.

``/metrics`` reports how many promotions, builds and rollbacks the *ledger* holds, not
what one process happened to see: a restart must not reset them, and every ``ledgerd``
of one PostgreSQL ledger must answer the same totals. So a scrape reads them here, in one
read transaction of four grouped queries (one scan of each table read) whose cost grows
with the number of rows scanned, not with what is sent back (a few rows per app).

Durations are histograms: each bucket's count is summed in SQL (``<= bound``), so the
buckets come back cumulative, the way the Prometheus format wants them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from projections import sql

SECOND_US = 1_000_000
# Upper bounds, in seconds: a record-runtime promotion ends at once, a rolling update takes
# seconds to minutes (its deadline defaults to 10 minutes), a build from source minutes.
PROMOTION_BUCKETS: tuple[float, ...] = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
BUILD_BUCKETS: tuple[float, ...] = (5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)


@dataclass(frozen=True)
class Durations:
    """A duration histogram of one app: cumulative counts per bound, count and sum."""

    app: str
    buckets: tuple[int, ...]  # cumulative, one per bound of the histogram's bounds
    count: int
    total_seconds: float


@dataclass(frozen=True)
class ActiveRelease:
    app: str
    release_id: str
    version: int


@dataclass(frozen=True)
class DeliveryTotals:
    """Everything ``/metrics`` reports about deliveries, from one snapshot of the views."""

    promotions: dict[tuple[str, str], int]  # (app, status) -> promotions
    promotion_durations: list[Durations]  # of ended promotions
    builds: dict[tuple[str, str], int]  # (app, status) -> builds
    build_durations: list[Durations]  # of ended builds
    rollbacks: dict[str, int]  # app -> rollbacks asked for (each releases a copy)
    active: list[ActiveRelease]


def _totals_query(table: str, bounds: Sequence[float]) -> str:
    """Per app and status, in one scan: rows, ended rows, their summed duration and one
    cumulative count per bound (a row that never started is timed from its creation; an
    unended row's duration is NULL, so no bucket and no sum takes it)."""
    duration = "(ended_at - COALESCE(started_at, created_at))"
    buckets = "".join(
        f", SUM(CASE WHEN {duration} <= {int(bound * SECOND_US)} THEN 1 ELSE 0 END) AS le{i}"
        for i, bound in enumerate(bounds)
    )
    return (
        "SELECT app, status, COUNT(*) AS count, COUNT(ended_at) AS ended,"
        f" SUM({duration}) AS total{buckets} FROM {{{table}}} GROUP BY app, status"
    )


PROMOTION_TOTALS = _totals_query("promotions", PROMOTION_BUCKETS)
BUILD_TOTALS = _totals_query("builds", BUILD_BUCKETS)
ROLLBACKS = "SELECT app, COUNT(*) AS count FROM {releases} WHERE reason = 'rollback' GROUP BY app"
ACTIVE_RELEASES = (
    "SELECT a.name AS app, a.active_release_id AS release_id, r.version AS version"
    " FROM {apps} a JOIN {releases} r ON r.id = a.active_release_id"
)


class MetricQueries(ABC):
    """The aggregates of :class:`DeliveryTotals`; the store supplies the transaction."""

    dialect: sql.Dialect

    @abstractmethod
    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        """A cursor inside one database transaction (committed only if ``commit``)."""

    def delivery_totals(self) -> DeliveryTotals:
        """Promotions, builds, rollbacks and active releases of every app, as projected."""
        with self._transaction(commit=False) as cursor:

            def fetch(statement: str) -> list[Any]:
                cursor.execute(self.dialect.sql(statement))
                return list(cursor.fetchall())

            promotions = fetch(PROMOTION_TOTALS)
            builds = fetch(BUILD_TOTALS)
            return DeliveryTotals(
                promotions=_by_status(promotions),
                promotion_durations=_durations(promotions, PROMOTION_BUCKETS),
                builds=_by_status(builds),
                build_durations=_durations(builds, BUILD_BUCKETS),
                rollbacks={row["app"]: int(row["count"]) for row in fetch(ROLLBACKS)},
                active=[
                    ActiveRelease(row["app"], row["release_id"], int(row["version"]))
                    for row in fetch(ACTIVE_RELEASES)
                ],
            )


def _by_status(found: list[Any]) -> dict[tuple[str, str], int]:
    return {(row["app"], row["status"]): int(row["count"]) for row in found}


def _durations(found: list[Any], bounds: Sequence[float]) -> list[Durations]:
    """The histograms of each app, summed over its statuses (rows per app and status)."""
    by_app: dict[str, tuple[list[int], int, int]] = {}
    for row in found:
        if not row["ended"]:
            continue
        buckets, count, total = by_app.setdefault(row["app"], ([0] * len(bounds), 0, 0))
        for i in range(len(bounds)):
            buckets[i] += int(row[f"le{i}"] or 0)
        by_app[row["app"]] = (buckets, count + int(row["ended"]), total + int(row["total"] or 0))
    return [
        Durations(app, tuple(buckets), count, total / SECOND_US)
        for app, (buckets, count, total) in by_app.items()
    ]
