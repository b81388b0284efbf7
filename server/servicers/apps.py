"""Apps and builds: CreateApp, GetApp, ListApps, CreateBuild, GetBuild, ListBuilds,
StreamBuildLogs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ledger import commands
from ledger.errors import FailedPrecondition, InvalidArgument, NotFound
from ledger.ids import check_app_name
from ledger_api.v1 import ledger_pb2 as pb
from projections.views import AppView, BuildView
from server import convert
from server.backend import meta_of
from server.errors import rpc
from server.paging import page_request, paginate, str_cursor
from server.servicers.base import ServicerBase

SOURCE_NEEDS_DOCKER = "building from source needs the docker runtime"


class AppsServicer(ServicerBase):
    """Apps and their builds."""

    @rpc
    async def CreateApp(self, request: pb.CreateAppRequest, context: Any) -> pb.App:
        meta = meta_of(context, request.request_id)
        command = commands.CreateApp(name=request.name)
        outcome = await self.backend.execute(self.backend.service.create_app, command, meta)
        return await self._app(outcome.app)

    @rpc
    async def GetApp(self, request: pb.GetAppRequest, context: Any) -> pb.App:
        return await self._app(request.name)

    @rpc
    async def ListApps(self, request: pb.ListAppsRequest, context: Any) -> pb.ListAppsResponse:
        paging = page_request(request.page_size, request.page_token, ["ListApps"])
        after = str_cursor(paging)
        views = await self.backend.run(self.backend.reader.list_apps, after, paging.size + 1)
        page = paginate(paging, views, lambda view: view.name)
        apps = await self.backend.run(self._with_promotions, page.items)
        return pb.ListAppsResponse(apps=apps, next_page_token=page.next_page_token)

    async def _app(self, name: str) -> pb.App:
        check_app_name(name)
        return await self.backend.run(self._load_app, name)  # one trip off the loop

    def _load_app(self, name: str) -> pb.App:
        view = self.backend.reader.get_app(name)
        if view is None:
            raise NotFound(f"app {name} not found")
        return self._with_promotions([view])[0]

    def _with_promotions(self, views: list[AppView]) -> list[pb.App]:
        get_promotion = self.backend.reader.get_promotion
        return [
            convert.app(view, get_promotion(view.promotion_id) if view.promotion_id else None)
            for view in views
        ]

    # -- builds -----------------------------------------------------------------

    @rpc
    async def CreateBuild(self, request_iterator: Any, context: Any) -> pb.Build:
        metadata = await _build_metadata(request_iterator)
        meta = meta_of(context, metadata.request_id)
        command = commands.CreateBuild(
            app=metadata.app, image=metadata.image, description=metadata.description
        )
        outcome = await self.backend.execute(self.backend.service.create_build, command, meta)
        return convert.build(await self.build_view(outcome.app, outcome.build_id))

    @rpc
    async def GetBuild(self, request: pb.GetBuildRequest, context: Any) -> pb.Build:
        return convert.build(await self.build_view(request.app, request.id))

    @rpc
    async def ListBuilds(
        self, request: pb.ListBuildsRequest, context: Any
    ) -> pb.ListBuildsResponse:
        reader = self.backend.reader
        page = await self.app_page("ListBuilds", request, reader.list_builds, _position)
        return pb.ListBuildsResponse(
            builds=[convert.build(view) for view in page.items],
            next_page_token=page.next_page_token,
        )

    @rpc
    async def StreamBuildLogs(
        self, request: pb.StreamBuildLogsRequest, context: Any
    ) -> AsyncIterator[pb.BuildLogChunk]:
        view = await self.build_view(request.app, request.id)
        # Image builds run nothing, so their log is one status line.
        yield pb.BuildLogChunk(data=_status_line(view).encode())


async def _build_metadata(request_iterator: Any) -> pb.BuildMetadata:
    """The first message's metadata; refuse a stream that carries a source tarball."""
    metadata: pb.BuildMetadata | None = None
    async for message in request_iterator:
        kind = message.WhichOneof("payload")
        if metadata is None:
            if kind != "metadata":
                raise InvalidArgument("the first CreateBuild message must carry the metadata")
            metadata = message.metadata
        elif kind == "chunk":
            raise FailedPrecondition(SOURCE_NEEDS_DOCKER)
        else:
            raise InvalidArgument("CreateBuild takes one metadata message, then source chunks")
    if metadata is None:
        raise InvalidArgument("CreateBuild needs a metadata message")
    return metadata


def _status_line(view: BuildView) -> str:
    line = f"build {view.id} of image {view.image} {view.status}"
    if view.error:
        line += f": {view.error}"
    return line + "\n"


def _position(view: BuildView) -> int:
    return view.position
