"""Deploy metrics (DORA): the Metrics tab of an app, and the overall page ``/dora``.

The figures are the read side's (:meth:`~ledger.queries.deploy_metrics.DeployMetricQueries
.deploy_metrics`), admitted like every app page for the policy's ``read`` action; the
overall page pools the apps the key may read. Each metric is a headline figure and a chart
of its periods (:mod:`server.console.charts`, inline SVG). The window is chosen with a
plain GET form (``?period=week&days=84``), so a view can be bookmarked or shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger.policy import Action
from ledger.queries.dora import Figure, Metrics
from server.console.charts import Sample, bars, line
from server.console.pages.common import (
    app_context,
    app_header,
    query_number,
    render_page,
    signed_in,
)

# The Metrics pages' live region, served alone when htmx asks for it (see pages/common.py).
REGIONS = {"dora-live": "_dora_live.html"}


@dataclass(frozen=True)
class Panel:
    """One metric as shown: its headline figure, what it is made of, and its chart."""

    key: str
    title: str
    figure: str
    detail: str
    chart: Markup


def seconds_text(seconds: float) -> str:
    """``0.04 s``, ``4.2 s``, ``12 s``, ``3 min``, ``2.5 h``, ``1.2 d``: for a figure or an axis."""
    if seconds < 1:
        return f"{seconds:.2g} s" if seconds else "0 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _rate(value: float) -> str:
    return f"{value:.0%}"


def _count(value: float) -> str:
    return f"{value:g}"


def _label(moment: datetime, period: str) -> str:
    return moment.strftime("%Y-%m-%d") if period != "all" else "all time"


def _samples(figure: Figure, period: str) -> list[Sample]:
    return [Sample(_label(p.start, period), p.value) for p in figure.series]


def _p90(figure: Figure) -> str:
    return f" · p90 {seconds_text(figure.p90)}" if figure.p90 is not None else ""


def _headline(value: float | None, text: Callable[[float], str]) -> str:
    return text(value) if value is not None else "—"


BASES = {"commit": "from the commit", "build": "from the build", "mixed": "commit or build"}


def panels(metrics: Metrics) -> list[Panel]:
    """The four metrics in the order of the DORA report."""
    period = metrics.window.period
    frequency, lead = metrics.frequency, metrics.lead_time
    rate, restore = metrics.failure_rate, metrics.time_to_restore
    base = BASES.get(metrics.lead_time_base, "no change yet")
    return [
        Panel(
            "frequency",
            "Deployment frequency",
            _headline(frequency.value, lambda value: f"{value:.2f} per day"),
            f"{frequency.count} successful promotion{_s(frequency.count)}",
            bars("chart-frequency", "Deployments per period", _samples(frequency, period), _count),
        ),
        Panel(
            "lead-time",
            "Lead time for changes",
            _headline(lead.value, seconds_text),
            f"median of {lead.count}{_p90(lead)} · {base}",
            line("chart-lead-time", "Median lead time", _samples(lead, period), seconds_text),
        ),
        Panel(
            "failure-rate",
            "Change failure rate",
            _headline(rate.value, _rate),
            f"{metrics.failures} of {rate.count} ended promotions failed",
            bars("chart-failure-rate", "Failure rate", _samples(rate, period), _rate, top=1.0),
        ),
        Panel(
            "restore",
            "Time to restore",
            _headline(restore.value, seconds_text),
            f"median of {restore.count}{_p90(restore)} · {metrics.unrestored} not restored",
            line(
                "chart-restore", "Median time to restore", _samples(restore, period), seconds_text
            ),
        ),
    ]


def _window(request: Request) -> tuple[str, int]:
    return request.query_params.get("period", "day"), query_number(request.query_params, "days")


async def app_metrics_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    period, days = _window(request)
    metrics: Metrics = await console.run(
        console.queries.deploy_metrics, principal, header.app.name, period=period, days=days
    )
    context = app_context(header, "metrics", metrics=metrics, panels=panels(metrics))
    return render_page(console, request, "dora.html", context, principal, REGIONS)


async def overall_metrics_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    console.allow(principal, Action.LIST_APPS)
    period, days = _window(request)
    metrics: Metrics = await console.run(
        console.queries.deploy_metrics, principal, period=period, days=days
    )
    context = {"metrics": metrics, "panels": panels(metrics)}
    return render_page(console, request, "dora_all.html", context, principal, REGIONS)


routes: list[BaseRoute] = [
    Route("/apps/{app}/metrics", app_metrics_page, methods=["GET"]),
    Route("/dora", overall_metrics_page, methods=["GET"]),
]
