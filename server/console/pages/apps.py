"""The apps list (what is live, what is rolling out; or what was live at a chosen moment)
and creating an app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import commands
from ledger.errors import InvalidArgument
from ledger.policy import Action, Principal
from ledger.queries import AppSummary, Queries
from ledger.views import AppView, PromotionView, ReleaseView
from server.console.pages.common import app_context, app_header, form, int_field, signed_in

PAGE_SIZE = 100


@dataclass(frozen=True)
class AppRow:
    """One line of the apps list."""

    app: AppView
    release: ReleaseView | None  # live now, or at the moment asked for
    promotion: PromotionView | None  # in flight now (not shown when looking back)
    summary: AppSummary | None = None  # its status now (not when looking back)


def parse_moment(raw: str) -> datetime | None:
    """A moment typed in the time-travel box (ISO 8601; UTC unless an offset is given)."""
    text = raw.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T").removesuffix("Z"))
    except ValueError:
        raise InvalidArgument(
            f"{text[:40]!r} is not a moment: use YYYY-MM-DDTHH:MM[:SS] (UTC)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rows(queries: Queries, visible: list[AppView], at: datetime | None) -> list[AppRow]:
    """The apps with their live release (now, or as of ``at``) and promotion in flight."""
    result = []
    for view in visible:
        if at is None:
            summary = queries.summarise(view, with_active=True)
            result.append(AppRow(view, summary.active, summary.promotion, summary))
        else:
            release, _ = queries.active_release_as_of(view.name, time=at)
            result.append(AppRow(view, release, None))
    return result


async def apps_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    console.allow(principal, Action.LIST_APPS)
    at = parse_moment(request.query_params.get("at", ""))
    after = request.query_params.get("after", "")
    queries = console.queries

    def load(principal: Principal) -> tuple[list[AppRow], str]:
        visible = queries.visible_apps(principal, after, PAGE_SIZE + 1)
        more = visible[PAGE_SIZE].name if len(visible) > PAGE_SIZE else ""
        shown = [view for view in visible[:PAGE_SIZE] if at is None or view.created_at <= at]
        return rows(queries, shown, at), more

    found, more = await console.run(load, principal)
    context = {"rows": found, "at": at, "more": found[-1].app.name if more and found else ""}
    return console.render(request, "apps.html", context, principal=principal)


async def apps_fragment(request: Request) -> Response:
    """The table alone, re-rendered when the log moves (live list)."""
    console, principal = await signed_in(request)
    console.allow(principal, Action.LIST_APPS)
    queries = console.queries

    def load(principal: Principal) -> list[AppRow]:
        return rows(queries, queries.visible_apps(principal, "", PAGE_SIZE), None)

    found = await console.run(load, principal)
    context = {"rows": found, "at": None}
    return console.render(request, "_apps_table.html", context, principal=principal)


async def header_fragment(request: Request) -> Response:
    """An app page's header alone (its live region on every app page): the page it sits
    on is the one htmx names in ``HX-Current-URL``, where its Resume button returns."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    page = urlsplit(request.headers.get("hx-current-url", "")).path
    own = page.startswith(f"/apps/{header.app.name}/")
    context = app_context(
        header, "", page_path=page if own else f"/apps/{header.app.name}/releases"
    )
    return console.render(request, "_app_header.html", context, principal=principal)


async def create_app(request: Request) -> Response:
    console, principal = await signed_in(request)
    values = await form(request)
    name = values.get("name", "").strip()
    console.allow(principal, Action.CREATE_APP)
    command = commands.CreateApp(
        name=name, deadline_seconds=int_field(values, "deadline_seconds", 0) or 0
    )
    service = console.backend.service
    await console.execute(principal, service.create_app, command, values.get("request_id", ""))
    return RedirectResponse(f"/apps/{name}/releases", status_code=303)


async def app_home(request: Request) -> Response:
    return RedirectResponse(f"/apps/{request.path_params['app']}/releases", status_code=303)


routes: list[BaseRoute] = [
    Route("/", apps_page, methods=["GET"]),
    Route("/apps", apps_fragment, methods=["GET"]),
    Route("/apps", create_app, methods=["POST"]),
    Route("/apps/{app}", app_home, methods=["GET"]),
    Route("/apps/{app}/header", header_fragment, methods=["GET"]),
]
