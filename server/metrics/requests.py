"""Requests served by this process (gRPC calls, the console's HTTP requests), by method or
route and status code, and how long they took."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Seconds: a read from memory takes a millisecond, a command a few, a database wait up to
# LEDGER_DATABASE_TIMEOUT (5 s by default), an upload longer.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class RequestMetrics:
    """gRPC calls and console HTTP requests counted when they end; those with one answer
    also timed.

    A response stream (WatchEvents, StreamBuildLogs, a console page's live stream) is
    counted when it ends but not timed: it lives as long as its client wants, so its length
    says nothing of the server's speed (``ledger_watchers`` counts those open).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "ledger_grpc_requests",
            "gRPC calls ended, by method and status code (refused ones included)",
            ["method", "code"],
            registry=registry,
        )
        self.durations = Histogram(
            "ledger_grpc_request_duration_seconds",
            "Time from a gRPC call's admission to its answer, by method (unary responses)",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

        self.http_requests = Counter(
            "ledger_http_requests",
            "Console HTTP requests answered, by route (its template: /apps/{app}/releases),"
            " method and status code",
            ["route", "method", "code"],
            registry=registry,
        )
        self.http_durations = Histogram(
            "ledger_http_request_duration_seconds",
            "Time from a console HTTP request's arrival to its whole answer, by route (live"
            " streams are not timed)",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def served(self, route: str, method: str, code: int, seconds: float | None) -> None:
        """A console request for ``route`` (a template) ended with status ``code`` after
        ``seconds`` (None: a stream, not timed)."""
        self.http_requests.labels(route, method, str(code)).inc()
        if seconds is not None:
            self.http_durations.labels(route).observe(seconds)

    def ended(self, method: str, code: str, seconds: float | None) -> None:
        """A call of ``method`` ended with ``code`` after ``seconds`` (None: not timed)."""
        self.requests.labels(method, code).inc()
        if seconds is not None:
            self.durations.labels(method).observe(seconds)
