"""Live updates: server-sent events telling open pages that the log moved.

A page subscribes with htmx's SSE extension (``sse-connect``); parts of it that can change
carry ``hx-trigger="sse:ledger"`` and re-fetch themselves when an event of interest is
projected, so every live view is rendered by the same server code as the page itself.
Events come from the same :class:`~server.infra.broadcast.Broadcaster` as ``WatchEvents``
(after the projections include them, so a re-fetch sees them), filtered to what the key
may read. The session is checked again every :data:`RECHECK_SECONDS`: a revoked key's
streams end with a ``signed-out`` event, on which the page asks for itself again and is
sent to the sign-in page. Each message names the event types and the newest position, so a fragment
may also decide for itself (a build log follows only ``BuildLogAppended``).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from ledger.errors import Unauthenticated
from ledger.policy import Action
from ledger.views import EventView
from server.console.context import Console
from server.console.errors import SIGNED_OUT_EVENT
from server.console.pages.common import app_header, signed_in
from server.infra.broadcast import CONSOLE

HEARTBEAT_SECONDS = 5.0
RECHECK_SECONDS = 5.0
RETRY_MS = 2000  # how soon a browser reconnects a dropped stream


def message(events: list[EventView]) -> str:
    """One SSE message named ``ledger``: the types and newest position of ``events``."""
    data = {
        "types": sorted({event.type for event in events}),
        "position": events[-1].position,
    }
    return f"event: ledger\ndata: {json.dumps(data)}\n\n"


async def stream(
    console: Console, request: Request, app: str, relevant: Callable[[EventView], bool]
) -> AsyncIterator[str]:
    """Messages for the events of ``app`` ('' for all) that pass ``relevant``, until the
    client leaves, the server stops, or the session ends."""
    broadcaster = console.backend.broadcaster
    subscription = broadcaster.subscribe(app, CONSOLE)
    checked = time.monotonic()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        while True:
            events = await subscription.next_events(HEARTBEAT_SECONDS)
            if subscription.closed:
                return  # the server is stopping; the browser reconnects to the next one
            if subscription.overflowed:  # too far behind: just tell the page to re-read
                subscription.reset()
                events = [
                    EventView(broadcaster.head, "Overflowed", app, "", datetime.now(UTC), "", {})
                ]
            if time.monotonic() - checked >= RECHECK_SECONDS:
                try:
                    await console.user(request)
                except Unauthenticated:
                    yield SIGNED_OUT_EVENT
                    return
                checked = time.monotonic()
            wanted = [event for event in events if relevant(event)]
            yield message(wanted) if wanted else ": heartbeat\n\n"
    finally:
        broadcaster.unsubscribe(subscription)


def sse(body: AsyncIterator[str]) -> Response:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


async def app_live(request: Request) -> Response:
    """The events of one app (the log of that app, as WatchEvents with that filter)."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    console.allow(principal, Action.READ_LOG, header.app.name)
    return sse(stream(console, request, header.app.name, lambda event: True))


async def all_live(request: Request) -> Response:
    """The events of every app the key may read (the apps list)."""
    console, principal = await signed_in(request)
    console.allow(principal, Action.LIST_APPS)

    def readable(event: EventView) -> bool:
        return bool(event.app) and console.may(principal, Action.READ, event.app)

    return sse(stream(console, request, "", readable))


routes: list[BaseRoute] = [
    Route("/live", all_live, methods=["GET"]),
    Route("/apps/{app}/live", app_live, methods=["GET"]),
]
