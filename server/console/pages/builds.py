"""The Builds tab: an app's builds, one build with its log (followed live while it runs),
and building an image from the console, optionally deploying it.

A build is started by the use case CreateBuild uses (``BuildService.create_from_image``),
admitted for the ``build`` action; deploying then promotes the release that build created
(``LedgerService.promote``, admitted for ``promote``, checked before anything is recorded)
as ``ledgerctl deploy`` does.

The log viewer reads the log as StreamBuildLogs does (``Queries.build_log``: the build's
status *before* its log, so the last read misses nothing). While
the build runs, the page's server-sent events trigger a fragment of only the chunks after
the last one shown, appended to the log; the element that asks stays in place (only the
hidden ``after`` it sends is replaced), so an event arriving during a request is queued
by htmx rather than lost with a replaced element. The fragment refreshes the facts too,
and once the build has ended it replaces the follower with one that no longer asks.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import commands
from ledger.ids import check_app_name, check_request_id
from ledger.policy import Action
from ledger.queries import BuildLog
from ledger.views import BuildView
from server.console.pages.common import (
    app_context,
    app_header,
    form,
    query_number,
    render_page,
    signed_in,
)

PAGE_SIZE = 50


async def builds_page(request: Request) -> Response:
    """The app's builds, newest first, a page at a time (``?before=<position>``)."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    name = header.app.name
    before = query_number(request.query_params, "before")
    found: list[BuildView] = await console.run(console.queries.builds, name, before, PAGE_SIZE + 1)
    shown = found[:PAGE_SIZE]
    more = shown[-1].position if len(found) > PAGE_SIZE else 0
    context = app_context(header, "builds", builds=shown, before=before, more=more)
    regions = {"builds-list": "_builds_table.html"}
    return render_page(console, request, "builds.html", context, principal, regions)


async def build_page(request: Request) -> Response:
    """One build: its facts and its whole log, followed while the build runs."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    name = header.app.name
    build_id = request.path_params["id"]
    log: BuildLog = await console.run(console.queries.build_log, name, build_id)
    context = app_context(header, "builds", build=log.build, log=log)
    return console.render(request, "build.html", context, principal=principal)


async def log_fragment(request: Request) -> Response:
    """The chunks after ``?after=<seq>``, with the facts and where to resume (htmx)."""
    console, principal = await signed_in(request)
    name = check_app_name(request.path_params["app"])
    console.allow(principal, Action.READ, name)
    after = query_number(request.query_params, "after")
    build_id = request.path_params["id"]
    log: BuildLog = await console.run(console.queries.build_log, name, build_id, after)
    context = {"app_name": name, "build": log.build, "log": log}
    return console.render(request, "build_log.html", context, principal=principal)


async def create_build(request: Request) -> Response:
    """Build an image reference; with ``deploy``, promote the release it created."""
    console, principal = await signed_in(request)
    name = check_app_name(request.path_params["app"])
    values = await form(request)
    deploy = values.get("deploy", "") == "1"
    console.allow(principal, Action.BUILD, name)
    if deploy:  # refused before the build is recorded, not halfway
        console.allow(principal, Action.PROMOTE, name)
    request_id = check_request_id(values.get("request_id", ""))
    description = values.get("description", "")
    build = commands.CreateBuild(app=name, image=values.get("image", ""), description=description)
    builds = console.backend.container.builds
    built = await console.execute(principal, builds.create_from_image, build, request_id)
    if not deploy:
        return RedirectResponse(f"/apps/{name}/builds/{built.build_id}", status_code=303)
    # Its own request id (a request id names one command): the form sent twice promotes once.
    promote_id = check_request_id(f"{request_id}.promote") if request_id else ""
    promote = commands.PromoteRelease(
        app=name, release_id=built.release_id, description=description
    )
    service = console.backend.service
    promoted = await console.execute(principal, service.promote, promote, promote_id)
    return RedirectResponse(f"/apps/{name}/promotions/{promoted.promotion_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/apps/{app}/builds", builds_page, methods=["GET"]),
    Route("/apps/{app}/builds", create_build, methods=["POST"]),
    Route("/apps/{app}/builds/{id}", build_page, methods=["GET"]),
    Route("/apps/{app}/builds/{id}/log", log_fragment, methods=["GET"]),
]
