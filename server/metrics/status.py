"""The state of this ``ledgerd``: its log and projections, live streams, integrity, version."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class Finder(Protocol):
    """The integrity guard (:class:`server.infra.integrity.Integrity`): its finding."""

    @property
    def finding(self) -> object | None: ...


class Walker(Protocol):
    """The background scrub (:class:`server.infra.scrubbing.BackgroundScrub`)."""

    cursor: int
    passes: int


@dataclass
class Sources:
    """Where each status value is read; integrity and scrub are attached once serving."""

    head: Callable[[], int]  # the log's newest position (the database's, shared)
    projected: Callable[[], int]  # the views' tracking position
    streams: Callable[[], Mapping[str, int]]  # open live streams, by kind
    info: Mapping[str, str]  # version, backend, runtime
    # When the first event after a position was recorded (see server.metrics.lag).
    first_after: Callable[[int], datetime | None] | None = None
    integrity: Finder | None = None
    scrub: Walker | None = None


class StatusCollector(Collector):
    """Gauges of the log, the projections, the live streams and the integrity checks."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        sources = self.sources
        yield InfoMetricFamily(
            "ledger", "This ledgerd: its version, database backend and runtime", dict(sources.info)
        )
        head, projected = sources.head(), sources.projected()
        yield GaugeMetricFamily(
            "ledger_log_head_position", "Position of the newest event in the log", head
        )
        yield GaugeMetricFamily(
            "ledger_projection_position",
            "Position of the last event the read views (projections) have applied",
            projected,
        )
        yield GaugeMetricFamily(
            "ledger_projection_lag_events",
            "Events in the log not yet in the read views (head minus projection position)",
            max(head - projected, 0),
        )
        yield GaugeMetricFamily(
            "ledger_projection_lag_seconds",
            "How long the oldest event not yet in the read views has waited (0: caught up)",
            self._waited(head, projected),
        )
        watchers = GaugeMetricFamily(
            "ledger_watchers",
            "Live streams open on this ledgerd, by stream (watch: WatchEvents, build_logs:"
            " StreamBuildLogs, console: the console's live pages)",
            labels=["stream"],
        )
        for stream, count in sorted(sources.streams().items()):
            watchers.add_metric([stream], count)
        yield watchers
        yield from self._integrity()

    def _waited(self, head: int, projected: int) -> float:
        first_after = self.sources.first_after
        if head <= projected or first_after is None:
            return 0.0
        recorded = first_after(projected)
        if recorded is None:  # projected meanwhile
            return 0.0
        return max((datetime.now(UTC) - recorded).total_seconds(), 0.0)

    def _integrity(self) -> Iterator[Metric]:
        sources = self.sources
        if sources.integrity is not None:
            yield GaugeMetricFamily(
                "ledger_integrity_ok",
                "1 while scrubs found the stored log matching its Merkle tree, 0 while a"
                " finding stands (writes are refused)",
                0 if sources.integrity.finding is not None else 1,
            )
        if sources.scrub is not None:
            yield GaugeMetricFamily(
                "ledger_scrub_position",
                "Leaves of the log the background scrub has compared in its current pass",
                sources.scrub.cursor,
            )
            yield CounterMetricFamily(
                "ledger_scrub_passes",
                "Whole walks of the log the background scrub completed since this ledgerd started",
                sources.scrub.passes,
            )
