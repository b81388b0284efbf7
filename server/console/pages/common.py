"""Helpers every page module uses: the console of a request, forms, the app header, and
rendering a page or only one of its live regions (a fragment)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ledger.errors import InvalidArgument
from ledger.ids import check_app_name
from ledger.policy import Action, Principal
from ledger.queries import AppSummary
from server.console.context import Console

TABS = (
    ("releases", "Releases"),
    ("tasks", "Tasks"),
    ("builds", "Builds"),
    ("env", "Environment"),
    ("promotions", "Promotions"),
    ("history", "History"),
    ("metrics", "Metrics"),
)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def signed_in(request: Request) -> tuple[Console, Principal]:
    """The console and the signed-in key (SignInRequired without a live session).

    Also notes, before the page reads anything, the newest log position published to
    live streams (``request.state.since``): the page's stream starts after it, so an
    event projected while the page was being read is announced, and no earlier one."""
    console = console_of(request)
    request.state.since = console.backend.broadcaster.head
    return console, await console.user(request)


def fragment_of(request: Request, regions: Mapping[str, str]) -> str:
    """The template of the live region an htmx request re-fetches (htmx names its target
    element in ``HX-Target``; every region's element has the id its template is filed
    under in ``regions``), or '' for a whole page."""
    if request.headers.get("hx-request") != "true":
        return ""
    return regions.get(request.headers.get("hx-target", ""), "")


def render_page(
    console: Console,
    request: Request,
    template: str,
    context: dict[str, Any],
    principal: Principal,
    regions: Mapping[str, str],
) -> Response:
    """The page ``template``, or only the live region asked for (:func:`fragment_of`):
    the same template the page includes, with the same context, so a region re-rendered
    live reads exactly as it does on a fresh page."""
    chosen = fragment_of(request, regions) or template
    return console.render(request, chosen, context, principal=principal)


async def app_header(console: Console, principal: Principal, name: str) -> AppSummary:
    """The top of every app page: the app named in the URL (after checking the key may read
    it), the promotion in flight, those queued behind it and the active release."""
    check_app_name(name)
    console.allow(principal, Action.READ, name)
    header: AppSummary = await console.run(console.queries.app_summary, name, with_active=True)
    return header


def app_context(header: AppSummary, tab: str, **extra: Any) -> dict[str, Any]:
    """The template context of an app page on ``tab``."""
    return {"header": header, "app": header.app, "tab": tab, "tabs": TABS, **extra}


async def form(request: Request) -> dict[str, str]:
    """The posted form as text fields (files are not accepted here)."""
    data = await request.form()
    values: dict[str, str] = {}
    for key, value in data.multi_items():
        if not isinstance(value, str):
            raise InvalidArgument(f"unexpected file in field {key}")
        values[key] = value
    return values


def query_number(params: Mapping[str, str], name: str) -> int:
    """A non-negative whole number from the query string, e.g. a pager's cursor (0 when
    absent; InvalidArgument when it is not one)."""
    value = int_field(dict(params), name, 0) or 0
    if value < 0:
        raise InvalidArgument(f"{name} must not be negative")
    return value


def int_field(values: dict[str, str], name: str, default: int | None = None) -> int | None:
    """An optional integer form field (InvalidArgument when it is not one)."""
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a whole number, not {raw[:20]!r}") from None
