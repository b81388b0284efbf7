"""The collectors of /metrics, read back with the official client's text parser."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from projections.metric_queries import ActiveRelease, DeliveryTotals, Durations
from server.metrics.registry import Metrics
from server.metrics.status import Sources

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def totals() -> DeliveryTotals:
    """shop: 2 succeeded, 1 rolled back, 1 running; blog: 1 failed build."""
    return DeliveryTotals(
        promotions={("shop", "succeeded"): 2, ("shop", "rolled_back"): 1, ("shop", "running"): 1},
        promotion_durations=[
            Durations("shop", buckets=(1, 2, 2, 3, 3, 3, 3, 3, 3, 3), count=3, total_seconds=42.5)
        ],
        builds={("blog", "failed"): 1},
        build_durations=[Durations("blog", buckets=(0,) * 9 + (1,), count=1, total_seconds=3000)],
        rollbacks={"shop": 1},
        active=[ActiveRelease("shop", "R1", 7)],
    )


class Views:
    def __init__(self, found: DeliveryTotals) -> None:
        self.found = found

    def delivery_totals(self) -> DeliveryTotals:
        return self.found

    def position(self) -> int:
        return 90


@dataclass
class Finding:
    finding: object | None


@dataclass
class Scrubbing:
    cursor: int
    passes: int


def metrics(head: int = 100, projected: int = 90) -> Metrics:
    sources = Sources(
        head=lambda: head,
        projected=lambda: projected,
        streams=lambda: {"watch": 2, "build_logs": 0, "console": 1},
        info={"version": "0.1.0", "backend": "sqlite", "runtime": "record"},
    )
    return Metrics(Views(totals()), sources)


def parsed(text: bytes) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_every_outcome_of_an_app_with_promotions_has_a_series_zeros_included() -> None:
    samples = parsed(metrics().render())

    assert value(samples, "ledger_promotions_total", app="shop", outcome="succeeded") == 2
    assert value(samples, "ledger_promotions_total", app="shop", outcome="rolled_back") == 1
    assert value(samples, "ledger_promotions_total", app="shop", outcome="cancelled") == 0
    assert value(samples, "ledger_promotions_total", app="shop", outcome="running") is None
    assert value(samples, "ledger_promotions_in_flight", app="shop") == 1


def test_durations_are_histograms_with_cumulative_buckets_count_and_sum() -> None:
    samples = parsed(metrics().render())

    bucket = "ledger_promotion_duration_seconds_bucket"
    assert value(samples, bucket, app="shop", le="1.0") == 1
    assert value(samples, bucket, app="shop", le="30.0") == 3
    assert value(samples, bucket, app="shop", le="+Inf") == 3
    assert value(samples, "ledger_promotion_duration_seconds_count", app="shop") == 3
    assert value(samples, "ledger_promotion_duration_seconds_sum", app="shop") == 42.5
    assert value(samples, "ledger_build_duration_seconds_bucket", app="blog", le="1800.0") == 0


def test_rollbacks_are_reported_for_every_app_with_promotions_or_rollbacks() -> None:
    samples = parsed(metrics().render())

    assert value(samples, "ledger_rollbacks_total", app="shop") == 1
    assert value(samples, "ledger_builds_total", app="blog", outcome="failed") == 1
    assert value(samples, "ledger_builds_total", app="blog", outcome="succeeded") == 0


def test_the_active_release_is_an_info_series_carrying_its_id_and_version() -> None:
    samples = parsed(metrics().render())

    labels = {"app": "shop", "release": "R1", "version": "7"}
    assert value(samples, "ledger_app_active_release_info", **labels) == 1


def test_the_projection_lag_is_the_head_minus_the_projected_position() -> None:
    samples = parsed(metrics(head=100, projected=90).render())

    assert value(samples, "ledger_log_head_position") == 100
    assert value(samples, "ledger_projection_position") == 90
    assert value(samples, "ledger_projection_lag_events") == 10


def test_open_streams_are_counted_by_kind() -> None:
    samples = parsed(metrics().render())

    assert value(samples, "ledger_watchers", stream="watch") == 2
    assert value(samples, "ledger_watchers", stream="console") == 1


def test_integrity_is_reported_once_the_guard_and_the_scrub_are_attached() -> None:
    registry = metrics()
    before = parsed(registry.render())
    registry.watch_integrity(Finding(finding="a mismatch"), Scrubbing(cursor=40, passes=2))
    after = parsed(registry.render())

    assert value(before, "ledger_integrity_ok") is None
    assert value(after, "ledger_integrity_ok") == 0
    assert value(after, "ledger_scrub_position") == 40
    assert value(after, "ledger_scrub_passes_total") == 2


def test_requests_are_counted_by_method_and_code_and_timed() -> None:
    registry = metrics()
    registry.requests.ended("GetApp", "OK", 0.003)
    registry.requests.ended("GetApp", "NOT_FOUND", 0.002)
    registry.requests.ended("WatchEvents", "CANCELLED", None)
    samples = parsed(registry.render())

    assert value(samples, "ledger_grpc_requests_total", method="GetApp", code="OK") == 1
    assert value(samples, "ledger_grpc_requests_total", method="WatchEvents", code="CANCELLED") == 1
    assert value(samples, "ledger_grpc_request_duration_seconds_count", method="GetApp") == 2
    assert (
        value(samples, "ledger_grpc_request_duration_seconds_count", method="WatchEvents") is None
    )


def test_a_filter_keeps_only_the_series_of_the_apps_it_allows_and_every_app_less_one() -> None:
    samples = parsed(metrics().render(lambda app: app == "blog"))

    apps = {dict(labels).get("app") for _, labels in samples} - {None}
    assert apps == {"blog"}
    assert value(samples, "ledger_log_head_position") == 100


def test_no_creation_time_series_are_shown() -> None:
    registry = metrics()
    registry.requests.ended("GetApp", "OK", 0.003)

    assert b"_created" not in registry.render()


def test_process_metrics_come_with_the_registry() -> None:
    samples = parsed(metrics().render())

    assert value(samples, "process_resident_memory_bytes") is not None
    assert value(samples, "process_cpu_seconds_total") is not None


def test_two_registries_keep_apart() -> None:
    one, two = metrics(), metrics()
    one.requests.ended("GetApp", "OK", 0.001)

    samples = parsed(two.render())
    assert value(samples, "ledger_grpc_requests_total", method="GetApp", code="OK") is None
