"""The History tab of an app and the global history: the audit timeline, newest first,
one line per user action (grouped by :mod:`ledger.queries.actions`), each expanding into
its events.

Both read the log as ``ListEvents`` does and are admitted by its rule (READ_LOG): the
tab names its app; the global page concerns every app unless filtered to one, which only
keys of every app may read (an app-limited key is refused with the rule's reason, and
may filter by one of its apps instead). Filters and paging are in the URL (see
:mod:`~server.console.pages.history_query`): filters select events, and the lines group
the events selected; a page holds up to ``PAGE_SIZE`` actions and never ends inside one
(``Queries.actions``). Without filters the lines are a live region that re-renders as
events arrive, fetching only itself (``REGIONS``). Release diffs and time travel,
reached from the rows, are in :mod:`~server.console.pages.history_diff` and
:mod:`~server.console.pages.history_travel`; their routes are served from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger.domain.registry import audited_types
from ledger.policy import Action, Principal
from ledger.queries import Queries
from ledger.queries.history import SCAN_LIMIT
from ledger.views import AppView
from server.console.pages import history_diff, history_travel
from server.console.pages.common import app_context, app_header, render_page, signed_in
from server.console.pages.history_actions import Line, lines
from server.console.pages.history_query import (
    PAGE_SIZE,
    EventFilter,
    field_text,
    parse_filter,
)

APPS_IN_FILTER = 200  # apps offered by the global page's app filter
REGIONS = {"history-rows": "_history_lines.html"}
"""The live region of both pages (the lines, when no filter narrows them) and its template."""


@dataclass(frozen=True)
class HistoryPage:
    """What a History page shows: its lines and where the next (older) page starts."""

    lines: list[Line]
    older: str  # the URL of the older page, '' when this is the last
    scanned: int  # events scanned when the actor filter stopped short (0: it did not)


def load(queries: Queries, chosen: EventFilter, path: str) -> HistoryPage:
    page = queries.actions(chosen.event_query, PAGE_SIZE)
    older = f"{path}?{chosen.query(before=page.older)}" if page.older else ""
    return HistoryPage(lines(queries, page.actions), older, page.scanned)


def filter_context(chosen: EventFilter, path: str, page: HistoryPage) -> dict[str, Any]:
    """What the filter form and the rows of both History pages need."""
    query = chosen.query()
    return {
        "chosen": chosen,
        "page": page,
        "path": path,
        "live_url": f"{path}?{query}" if query else path,
        "types": audited_types(),
        # The fields hold whole seconds: since rounded down and until up, so that sending
        # the form again keeps every event the URL's exact moments kept.
        "since": field_text(chosen.since) if chosen.since else "",
        "until": field_text(chosen.until, round_up=True) if chosen.until else "",
        "scan_limit": SCAN_LIMIT,
    }


async def app_history(request: Request) -> Response:
    """``/apps/{app}/history``: the app's timeline."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    name = header.app.name
    console.allow(principal, Action.READ_LOG, name)
    chosen = parse_filter(request.query_params, app=name)
    path = f"/apps/{name}/history"
    page: HistoryPage = await console.run(load, console.queries, chosen, path)
    context = app_context(header, "history", show_app=False, **filter_context(chosen, path, page))
    return render_page(console, request, "history.html", context, principal, REGIONS)


async def all_history(request: Request) -> Response:
    """``/history``: every app's timeline (and the ledger's own events: keys, versions)."""
    console, principal = await signed_in(request)
    # The rule first, like the API: a reader asking for every app is refused before
    # anything else is looked at.
    console.allow(principal, Action.READ_LOG, request.query_params.get("app", "").strip())
    chosen = parse_filter(request.query_params)
    queries = console.queries

    def read(principal: Principal) -> tuple[HistoryPage, list[AppView]]:
        page = load(queries, chosen, "/history")
        return page, queries.visible_apps(principal, "", APPS_IN_FILTER)

    page, apps = await console.run(read, principal)
    context = {**filter_context(chosen, "/history", page), "apps": apps, "show_app": True}
    return render_page(console, request, "history_all.html", context, principal, REGIONS)


routes: list[BaseRoute] = [
    Route("/history", all_history, methods=["GET"]),
    Route("/apps/{app}/history", app_history, methods=["GET"]),
    *history_diff.routes,
    *history_travel.routes,
]
