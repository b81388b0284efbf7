"""Each console HTTP request counted by route, method and status, and timed (see
``ledger_http_requests_total`` in docs/metrics.md).

The route is the matched route's template (``/apps/{app}/releases``), never the path a
client sent: app names and ids would make a series per value. A request no route took
(an unknown path, a form refused for its CSRF token before routing) counts as
``(unrouted)``; a method outside HTTP's usual ones counts as ``OTHER`` (a client must not
make a series per invented name). Live streams (``text/event-stream``) are counted when
they end but not timed: they last as long as the page is open.

Two layers: :func:`measured` outermost (it sees every answer, refusals included) and
:func:`routed` right around the router, which tells it the route: the layers between
(CSRF) hand the router a copy of the request's scope, where the route is written.
"""

from __future__ import annotations

import time
from typing import Any

from server.metrics.requests import RequestMetrics

UNROUTED = "(unrouted)"
STREAM = b"text/event-stream"
ANSWER = "ledger.answer"  # the scope key of what :func:`measured` learns of the request
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def measured(app: Any, metrics: RequestMetrics) -> Any:
    """``app`` (ASGI) with each HTTP request it answers reported to ``metrics``."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "stream": False, "route": None}
        scope[ANSWER] = answer

        async def send_seen(message: Any) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["stream"] = any(
                    name.lower() == b"content-type" and value.startswith(STREAM)
                    for name, value in message.get("headers", [])
                )
            await send(message)

        try:
            await app(scope, receive, send_seen)
        finally:
            seconds = None if answer["stream"] else time.perf_counter() - started
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            metrics.served(_template(answer["route"]), method, answer["status"], seconds)

    return wrapped


def routed(app: Any) -> Any:
    """``app`` (the router) telling :func:`measured` which route took the request."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        finally:
            answer = scope.get(ANSWER)
            if answer is not None:
                answer["route"] = scope.get("route")

    return wrapped


def _template(route: Any) -> str:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNROUTED
