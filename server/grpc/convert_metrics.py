"""Deploy metrics (:mod:`ledger.queries.dora`) as ``ledger.v1`` messages."""

from __future__ import annotations

from ledger.queries.dora import Figure, Metrics, Point
from ledger_api.v1 import ledger_pb2 as pb
from server.grpc.convert import timestamp


def deploy_metrics(app: str, metrics: Metrics) -> pb.DeployMetrics:
    span = metrics.window
    return pb.DeployMetrics(
        app=app,
        apps=list(metrics.apps),
        period=str(span.period),
        start=timestamp(span.start),
        end=timestamp(span.end),
        days=span.days,
        deployment_frequency=_figure(metrics.frequency),
        lead_time=_figure(metrics.lead_time),
        lead_time_base=metrics.lead_time_base,
        change_failure_rate=_figure(metrics.failure_rate),
        failures=metrics.failures,
        time_to_restore=_figure(metrics.time_to_restore),
        unrestored=metrics.unrestored,
        rollback_window_seconds=int(metrics.rollback_window.total_seconds()),
    )


def _figure(figure: Figure) -> pb.DeployMetric:
    return pb.DeployMetric(
        value=figure.value,
        p90=figure.p90,
        count=figure.count,
        series=[_point(point) for point in figure.series],
    )


def _point(point: Point) -> pb.MetricPoint:
    return pb.MetricPoint(
        start=timestamp(point.start), end=timestamp(point.end), value=point.value, count=point.count
    )
