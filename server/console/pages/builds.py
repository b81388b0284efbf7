"""The Builds tab: an app's builds, one build with its log (followed live while it runs),
and building an image from the console, optionally deploying it.

A build is started by the use case CreateBuild uses (``BuildService.create_from_image``),
admitted by CreateBuild's rule; deploying then promotes the release that build created
(``LedgerService.promote``, admitted by PromoteRelease's rule, checked before anything
is recorded) as ``ledgerctl deploy`` does.

The log viewer reads the build's status *before* its log, like StreamBuildLogs: a build
seen ended had all of its log projected already, so the last read misses nothing. While
the build runs, the page's server-sent events trigger a fragment of only the chunks after
the last one shown, appended to the log; the element that asks stays in place (only the
hidden ``after`` it sends is replaced), so an event arriving during a request is queued
by htmx rather than lost with a replaced element. The fragment refreshes the facts too,
and once the build has ended it replaces the follower with one that no longer asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import commands
from ledger.errors import NotFound
from ledger.ids import BUILD, check_app_name, check_id, check_request_id
from projections.reader import ReadModel
from projections.views import BuildLogView, BuildView
from server.console.pages.common import (
    app_context,
    app_header,
    form,
    query_number,
    signed_in,
)

PAGE_SIZE = 50
LOG_PAGE = 500  # chunks per read: a long log is read in pages, all of it
ENDED = frozenset({"succeeded", "failed"})


@dataclass(frozen=True)
class BuildLog:
    """A build as read just before the chunks of its log after some seq."""

    build: BuildView
    chunks: list[BuildLogView]
    after: int  # the seq of the last chunk shown: where following resumes

    @property
    def following(self) -> bool:
        return self.build.status not in ENDED

    @property
    def from_image(self) -> bool:
        return self.build.source.startswith("image:")

    @property
    def status_line(self) -> str:
        """An image build ran nothing: its log is one line (as StreamBuildLogs says)."""
        line = f"build {self.build.id} of image {self.build.image} {self.build.status}"
        return line + (f": {self.build.error}" if self.build.error else "") + "\n"


def read_log(
    reader: ReadModel, app: str, build_id: str, after: int, chunks_too: bool = True
) -> BuildLog:
    """The build (which must belong to ``app``), then every chunk after ``after``."""
    build = reader.get_build(build_id)
    if build is None or build.app != app:
        raise NotFound(f"build {build_id} not found in app {app}")
    chunks: list[BuildLogView] = []
    while chunks_too:
        page = reader.build_log(build_id, after, LOG_PAGE)
        chunks.extend(page)
        if page:
            after = page[-1].seq
        if len(page) < LOG_PAGE:
            break
    return BuildLog(build, chunks, after)


async def builds_page(request: Request) -> Response:
    """The app's builds, newest first, a page at a time (``?before=<position>``)."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    name = header.app.name
    await console.allow(principal, "ListBuilds", app=name)
    before = query_number(request.query_params, "before")
    found: list[BuildView] = await console.run(
        console.backend.reader.list_builds, name, before, PAGE_SIZE + 1
    )
    shown = found[:PAGE_SIZE]
    more = shown[-1].position if len(found) > PAGE_SIZE else 0
    context = app_context(header, "builds", builds=shown, before=before, more=more)
    return console.render(request, "builds.html", context, principal=principal)


async def build_page(request: Request) -> Response:
    """One build: its facts and its whole log, followed while the build runs."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    name = header.app.name
    build_id = check_id(BUILD, request.path_params["id"])
    await console.allow(principal, "GetBuild", app=name)
    # The live app header re-renders itself from this URL on every event of the app and
    # keeps only itself: it needs no log, which may be long (read the build alone).
    header_only = request.headers.get("hx-target") == "app-header"
    log: BuildLog = await console.run(
        read_log, console.backend.reader, name, build_id, 0, not header_only
    )
    context = app_context(header, "builds", build=log.build, log=log)
    return console.render(request, "build.html", context, principal=principal)


async def log_fragment(request: Request) -> Response:
    """The chunks after ``?after=<seq>``, with the facts and where to resume (htmx)."""
    console, principal = await signed_in(request)
    name = check_app_name(request.path_params["app"])
    build_id = check_id(BUILD, request.path_params["id"])
    await console.allow(principal, "StreamBuildLogs", app=name)
    after = query_number(request.query_params, "after")
    log: BuildLog = await console.run(read_log, console.backend.reader, name, build_id, after)
    context = {"app_name": name, "build": log.build, "log": log}
    return console.render(request, "build_log.html", context, principal=principal)


async def create_build(request: Request) -> Response:
    """Build an image reference; with ``deploy``, promote the release it created."""
    console, principal = await signed_in(request)
    name = check_app_name(request.path_params["app"])
    values = await form(request)
    deploy = values.get("deploy", "") == "1"
    await console.allow(principal, "CreateBuild", app=name)
    if deploy:  # refused before the build is recorded, not halfway
        await console.allow(principal, "PromoteRelease", app=name)
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
