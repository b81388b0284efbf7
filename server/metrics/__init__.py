"""What ``/metrics`` reports, in the Prometheus text format (see docs/metrics.md).

:class:`~server.metrics.registry.Metrics` is one ``ledgerd``'s registry (its own, never the
client library's global one): the request counters the gRPC interceptor and the console
(:mod:`server.console.measured`) feed, the delivery totals read from the views at each
scrape, the process's status (log head, projections, watchers, integrity) and the client's
process collector. The HTTP ends live with the console (:mod:`server.console.metrics`);
nothing here knows HTTP or gRPC.
"""
