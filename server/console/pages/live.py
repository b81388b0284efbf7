"""Live updates: server-sent events telling open pages that the log moved.

A page subscribes with htmx's SSE extension (``sse-connect``); parts of it that can change
carry ``hx-trigger="sse:ledger"`` and re-fetch themselves when an event of interest is
projected, as a fragment rendered by the same template as the page (see
:func:`~server.console.pages.common.render_page`).

Nothing is missed and nothing is fetched twice: a page asks for its stream with
``?since=<position>``, the newest log position the console had published when it began
reading the page (:func:`~server.console.pages.common.signed_in`). On opening, the stream
first looks for events of interest after that position (those projected between the
page's reads and the subscription): if there are any, its first message announces them,
so the regions fetch themselves once; if not, it says nothing and no region asks. Each
message carries its position as its SSE ``id``, so a browser reconnecting a dropped
stream sends it back as ``Last-Event-ID`` and catches up only on what it did not see.
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
from ledger.queries import EventQuery
from ledger.views import EventView
from server.console.context import Console
from server.console.errors import SIGNED_OUT_EVENT
from server.console.pages.common import app_header, signed_in
from server.infra.broadcast import CONSOLE

HEARTBEAT_SECONDS = 5.0
CATCH_UP_EVENTS = 100  # events read back on opening; a full batch is news enough
RECHECK_SECONDS = 5.0
RETRY_MS = 2000  # how soon a browser reconnects a dropped stream


def message(events: list[EventView]) -> str:
    """One SSE message named ``ledger``: the types and newest position of ``events``."""
    data = {
        "types": sorted({event.type for event in events}),
        "position": events[-1].position,
    }
    return f"event: ledger\nid: {data['position']}\ndata: {json.dumps(data)}\n\n"


def since_of(request: Request) -> int:
    """The newest position the page has seen: its ``since``, or the ``Last-Event-ID`` the
    browser sends when it reconnects (whichever is newer; 0 when neither is a number)."""
    seen = [request.query_params.get("since", ""), request.headers.get("last-event-id", "")]
    return max((int(value) for value in seen if value.isdigit()), default=0)


async def missed(
    console: Console, app: str, since: int, relevant: Callable[[EventView], bool]
) -> list[EventView]:
    """Events of interest after ``since`` the page may not show (none when the log has
    not moved since)."""
    if console.backend.broadcaster.head <= since:
        return []
    query = EventQuery(app=app)
    events: list[EventView] = await console.run(
        console.queries.events, query, after_position=since, limit=CATCH_UP_EVENTS
    )
    return events if len(events) == CATCH_UP_EVENTS else [e for e in events if relevant(e)]


async def stream(
    console: Console, request: Request, app: str, relevant: Callable[[EventView], bool]
) -> AsyncIterator[str]:
    """Messages for the events of ``app`` ('' for all) that pass ``relevant``, until the
    client leaves, the server stops, or the session ends; first, those the page missed."""
    broadcaster = console.backend.broadcaster
    # Subscribed before looking back (stream open): nothing falls between the two.
    subscription = broadcaster.subscribe(app, CONSOLE)
    checked = time.monotonic()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        behind = await missed(console, app, since_of(request), relevant)
        if behind:
            yield message(behind)
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
