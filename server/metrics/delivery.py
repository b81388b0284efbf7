"""Promotions, builds, rollbacks and active releases, read from the views at each scrape.

Counted from the ledger's read model rather than in memory, so the totals survive a
restart and every ``ledgerd`` of one PostgreSQL ledger answers the same. Each app with any
promotion (build) gets a series for every outcome, zeros included, so that a rate over
an outcome's first occurrence is right from the start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ledger.domain.build import BuildStatus
from ledger.domain.promotion import PromotionStatus
from projections.metric_queries import (
    BUILD_BUCKETS,
    PROMOTION_BUCKETS,
    DeliveryTotals,
    Durations,
)

PROMOTION_OUTCOMES = tuple(status.value for status in PromotionStatus if status.terminal)
BUILD_OUTCOMES = (BuildStatus.SUCCEEDED.value, BuildStatus.FAILED.value)


class DeliveryCollector(Collector):
    """The delivery metrics, from ``read`` (the views' ``delivery_totals``) per scrape."""

    def __init__(self, read: Callable[[], DeliveryTotals]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        totals = self.read()
        yield from promotion_families(totals)
        yield from build_families(totals)
        yield rollbacks_family(totals)
        yield active_release_family(totals)


def promotion_families(totals: DeliveryTotals) -> Iterator[Metric]:
    ended = CounterMetricFamily(
        "ledger_promotions",
        "Promotions ended, by app and outcome (succeeded; rolled_back: failed and the previous"
        " release restored; rollback_failed; cancelled)",
        labels=["app", "outcome"],
    )
    _outcomes(ended, totals.promotions, PROMOTION_OUTCOMES)
    yield ended
    yield _in_flight(
        "ledger_promotions_in_flight",
        "Promotions pending, running or rolling back, by app",
        totals.promotions,
        PROMOTION_OUTCOMES,
    )
    yield _histogram(
        "ledger_promotion_duration_seconds",
        "Time from a promotion's start (its creation if it never started) to its end, by app",
        totals.promotion_durations,
        PROMOTION_BUCKETS,
    )


def build_families(totals: DeliveryTotals) -> Iterator[Metric]:
    ended = CounterMetricFamily(
        "ledger_builds",
        "Builds ended, by app and outcome (succeeded or failed)",
        labels=["app", "outcome"],
    )
    _outcomes(ended, totals.builds, BUILD_OUTCOMES)
    yield ended
    yield _in_flight(
        "ledger_builds_in_flight",
        "Builds created or running, by app",
        totals.builds,
        BUILD_OUTCOMES,
    )
    yield _histogram(
        "ledger_build_duration_seconds",
        "Time from a build's start (its creation if it never started) to its end, by app",
        totals.build_durations,
        BUILD_BUCKETS,
    )


def rollbacks_family(totals: DeliveryTotals) -> Metric:
    family = CounterMetricFamily(
        "ledger_rollbacks",
        "Rollbacks asked for (ledgerctl rollback, the console's Roll back), by app;"
        " a failed promotion's automatic restore counts as outcome rolled_back instead",
        labels=["app"],
    )
    apps = {app for app, _ in totals.promotions} | set(totals.rollbacks)
    for app in sorted(apps):
        family.add_metric([app], totals.rollbacks.get(app, 0))
    return family


def active_release_family(totals: DeliveryTotals) -> Metric:
    family = InfoMetricFamily(
        "ledger_app_active_release",
        "The release each app runs now (its id and version number)",
        labels=["app"],
    )
    for active in sorted(totals.active, key=lambda found: found.app):
        family.add_metric(
            [active.app], {"release": active.release_id, "version": str(active.version)}
        )
    return family


def _outcomes(
    family: CounterMetricFamily, counts: dict[tuple[str, str], int], outcomes: Sequence[str]
) -> None:
    for app in _apps(counts):
        for outcome in outcomes:
            family.add_metric([app, outcome], counts.get((app, outcome), 0))


def _in_flight(
    name: str, documentation: str, counts: dict[tuple[str, str], int], ended: Sequence[str]
) -> GaugeMetricFamily:
    open_now = dict.fromkeys(_apps(counts), 0)
    for (app, status), count in counts.items():
        if status not in ended:
            open_now[app] += count
    family = GaugeMetricFamily(name, documentation, labels=["app"])
    for app, count in open_now.items():
        family.add_metric([app], count)
    return family


def _histogram(
    name: str, documentation: str, durations: Iterable[Durations], bounds: Sequence[float]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["app"])
    for found in sorted(durations, key=lambda each: each.app):
        pairs = zip(bounds, found.buckets, strict=True)
        buckets = [(str(float(bound)), float(n)) for bound, n in pairs]
        buckets.append(("+Inf", float(found.count)))
        family.add_metric([found.app], buckets, found.total_seconds)
    return family


def _apps(counts: dict[tuple[str, str], int]) -> list[str]:
    return sorted({app for app, _ in counts})
