"""One ``ledgerd``'s metrics registry, and its rendering for one scraper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric

from projections.metric_queries import DeliveryTotals
from server.metrics.delivery import DeliveryCollector
from server.metrics.requests import RequestMetrics
from server.metrics.status import Finder, Sources, StatusCollector, Walker

AppFilter = Callable[[str], bool]


class DeliveryViews(Protocol):
    def delivery_totals(self) -> DeliveryTotals: ...

    def position(self) -> int: ...


class Metrics:
    """Everything ``/metrics`` shows for one process, in a registry of its own.

    Built by the composition root; nothing is registered globally, so two ``ledgerd`` in
    one process (the tests) keep apart.
    """

    def __init__(self, views: DeliveryViews, sources: Sources) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = RequestMetrics(self.registry)
        self.status = sources
        self.registry.register(StatusCollector(sources))
        self.registry.register(DeliveryCollector(views.delivery_totals))
        # The client's own: RSS, CPU seconds, open files, start time; the interpreter's GC.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def watch_integrity(self, integrity: Finder, scrub: Walker) -> None:
        """Report the integrity guard and the background scrub (they exist once serving)."""
        self.status.integrity = integrity
        self.status.scrub = scrub

    def render(self, may_read: AppFilter | None = None) -> bytes:
        """The text format; with ``may_read``, only the series of the apps it allows
        (blocking: the delivery totals are read from the database)."""
        return generate_latest(_Shown(self.registry, may_read or _every_app))


def _every_app(app: str) -> bool:
    return True


class _Shown:
    """A registry's families without the series of apps ``may_read`` refuses, and without
    the client's ``*_created`` series (each counter's creation time in this process: noise
    next to totals read from the ledger; the global switch is not ours to flip)."""

    def __init__(self, registry: CollectorRegistry, may_read: AppFilter) -> None:
        self.registry = registry
        self.may_read = may_read

    def collect(self) -> Iterator[Metric]:
        for family in self.registry.collect():
            kept = Metric(family.name, family.documentation, family.type, family.unit)
            kept.samples = [
                sample
                for sample in family.samples
                if not sample.name.endswith("_created")
                and ("app" not in sample.labels or self.may_read(sample.labels["app"]))
            ]
            yield kept
