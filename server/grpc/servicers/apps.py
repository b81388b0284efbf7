"""Apps and builds: CreateApp, GetApp, ListApps, CreateBuild, GetBuild, ListBuilds,
StreamBuildLogs."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

from ledger import commands
from ledger.building import SourceUpload
from ledger.domain import Meta
from ledger.errors import InvalidArgument, Unavailable
from ledger.views import BuildView
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import meta_of
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.interceptor import principal_of
from server.grpc.paging import page_request, paginate, str_cursor
from server.grpc.servicers.base import ServicerBase, rendered
from server.infra.broadcast import BUILD_LOGS

UPLOAD_BUFFER = 1024 * 1024  # source bytes gathered before one write off the event loop
LOG_PAGE = 200
# A followed build's log is re-read when an event of its app is projected; this is only
# the safety net for a wake-up that never comes.
LOG_RECHECK_SECONDS = 5.0


class AppsServicer(ServicerBase):
    """Apps and their builds."""

    @rpc
    async def CreateApp(self, request: pb.CreateAppRequest, context: Any) -> pb.App:
        meta = meta_of(principal_of(context), request.request_id)
        command = commands.CreateApp(name=request.name, deadline_seconds=request.deadline_seconds)
        outcome = await self.backend.execute(self.backend.service.create_app, command, meta)
        return await self.backend.written(outcome.position, lambda: self._app(outcome.app))

    @rpc
    async def UpdateApp(self, request: pb.UpdateAppRequest, context: Any) -> pb.App:
        meta = meta_of(principal_of(context), request.request_id)
        command = commands.UpdateApp(name=request.name, deadline_seconds=request.deadline_seconds)
        outcome = await self.backend.execute(self.backend.service.update_app, command, meta)
        return await self.backend.written(outcome.position, lambda: self._app(outcome.app))

    @rpc
    async def GetApp(self, request: pb.GetAppRequest, context: Any) -> pb.App:
        return await self._app(request.name)

    @rpc
    async def GetAppAt(self, request: pb.GetAppAtRequest, context: Any) -> pb.AppAt:
        then = await self.backend.run(
            self.backend.queries.app_at,
            principal_of(context),
            request.name,
            time=convert.optional_time(request, "as_of_time"),
            position=request.as_of_position,
        )
        return convert.app_at(then)

    @rpc
    async def ListApps(self, request: pb.ListAppsRequest, context: Any) -> pb.ListAppsResponse:
        paging = page_request(request.page_size, request.page_token, ["ListApps"])
        principal, queries = principal_of(context), self.backend.queries
        views = await self.backend.run(
            queries.visible_apps, principal, str_cursor(paging), paging.size + 1
        )
        page = paginate(paging, views, lambda view: view.name)
        summaries = await self.backend.run(lambda: [queries.summarise(v) for v in page.items])
        return pb.ListAppsResponse(
            apps=[convert.app_summary(summary) for summary in summaries],
            next_page_token=page.next_page_token,
        )

    async def _app(self, name: str) -> pb.App:
        entry = await self.backend.hot_app(name)
        return rendered(entry, pb.App, lambda: convert.app_summary(entry.summary))

    # -- builds -----------------------------------------------------------------

    @rpc
    async def CreateBuild(self, request_iterator: Any, context: Any) -> pb.Build:
        messages = aiter(request_iterator)
        metadata = await _build_metadata(messages)
        meta = meta_of(principal_of(context), metadata.request_id)
        builds = self.backend.container.builds
        if metadata.image:
            await _no_more_messages(messages)
            await _not_cancelled(context)
            command = commands.CreateBuild(
                app=metadata.app, image=metadata.image, description=metadata.description
            )
            outcome = await self.backend.execute(builds.create_from_image, command, meta)
        else:
            source = commands.BuildFromSource(
                app=metadata.app,
                size=metadata.size,
                digest=metadata.source_digest,
                description=metadata.description,
            )
            outcome = await self._build_from_source(source, meta, messages, context)
        return await self.backend.written(
            outcome.position, lambda: self._build(outcome.app, outcome.build_id)
        )

    async def _build_from_source(
        self, command: commands.BuildFromSource, meta: Meta, messages: Any, context: Any
    ) -> commands.Outcome:
        """Receive the source into a file, then record the build as started.

        Nothing is stored for an unknown app; a refused, failed or cancelled upload
        (the client went away) records nothing and leaves no file behind.
        """
        builds = self.backend.container.builds
        await self.backend.run(builds.check_source_build, command)
        upload = await self.backend.run(builds.open_upload)
        try:
            await self._receive(upload, messages)
            await _not_cancelled(context)
            start = functools.partial(builds.start_from_source, upload=upload)
            return await self.backend.execute(start, command, meta)
        finally:
            upload.discard()  # nothing to do once the build owns the file

    async def _receive(self, upload: SourceUpload, messages: Any) -> None:
        pending: list[bytes] = []
        buffered = 0
        async for message in messages:
            if message.WhichOneof("payload") != "chunk":
                raise InvalidArgument("after the metadata, CreateBuild takes source chunks only")
            pending.append(message.chunk)
            buffered += len(message.chunk)
            if buffered >= UPLOAD_BUFFER:
                await self.backend.run(upload.write, b"".join(pending))
                pending.clear()
                buffered = 0
        if pending:
            await self.backend.run(upload.write, b"".join(pending))

    @rpc
    async def GetBuild(self, request: pb.GetBuildRequest, context: Any) -> pb.Build:
        return await self._build(request.app, request.id)

    async def _build(self, app: str, build_id: str) -> pb.Build:
        return convert.build(await self.backend.run(self.backend.queries.build, app, build_id))

    @rpc
    async def ListBuilds(
        self, request: pb.ListBuildsRequest, context: Any
    ) -> pb.ListBuildsResponse:
        queries = self.backend.queries
        page = await self.app_page("ListBuilds", request, queries.builds, _position)
        return pb.ListBuildsResponse(
            builds=[convert.build(view) for view in page.items],
            next_page_token=page.next_page_token,
        )

    @rpc
    async def StreamBuildLogs(
        self, request: pb.StreamBuildLogsRequest, context: Any
    ) -> AsyncIterator[pb.BuildLogChunk]:
        """The stored log, then live output until the build ends (unless ``no_follow``).

        Woken by the broadcaster when an event of the build's app is projected, never by
        polling the database in a loop. The build's status is read *before* its log: a
        build seen ended had all of its log projected already, so nothing is missed.
        """
        queries = self.backend.queries
        view = await self.backend.run(queries.build, request.app, request.id)
        if request.from_seq < 0:
            raise InvalidArgument("from_seq must not be negative")
        broadcaster = self.backend.broadcaster
        subscription = broadcaster.subscribe(view.app, BUILD_LOGS)
        sent = request.from_seq
        try:
            while True:
                subscription.reset()  # what it held is read below
                log = await self.backend.run(queries.build_log, "", view.id, sent, limit=LOG_PAGE)
                if log.from_image:  # nothing ran: the log is one status line
                    if sent == 0:
                        yield pb.BuildLogChunk(data=log.status_line.encode())
                    return
                ended = request.no_follow or log.ended
                while True:
                    for chunk in log.chunks:
                        yield convert.build_log_chunk(chunk)
                        sent = chunk.seq
                    if len(log.chunks) < LOG_PAGE:
                        break
                    log = await self.backend.run(
                        queries.build_log, "", view.id, sent, limit=LOG_PAGE
                    )
                if ended:
                    return
                await subscription.next_events(LOG_RECHECK_SECONDS)
                if subscription.closed:
                    raise Unavailable(f"ledgerd is shutting down: resume from seq {sent}")
        finally:
            broadcaster.unsubscribe(subscription)


async def _build_metadata(messages: Any) -> pb.BuildMetadata:
    """The first message, which must carry the metadata."""
    try:
        message = await anext(messages)
    except StopAsyncIteration:
        raise InvalidArgument("CreateBuild needs a metadata message") from None
    if message.WhichOneof("payload") != "metadata":
        raise InvalidArgument("the first CreateBuild message must carry the metadata")
    metadata: pb.BuildMetadata = message.metadata
    return metadata


async def _not_cancelled(context: Any) -> None:
    """Raise CancelledError if the client cancelled the call rather than ending its stream.

    gRPC ends a client stream's messages the same way whether the client half-closed it
    (the upload is complete) or cancelled the call (it is not), and the task is only
    cancelled a moment later, so without this a cancelled upload could be recorded as a
    build of a truncated source. Sending the response headers tells them apart: it
    succeeds on a live call and fails on a cancelled one.
    """
    try:
        await context.send_initial_metadata(())
    except asyncio.CancelledError:
        raise
    except Exception as error:  # the call is over: nobody is waiting for a build
        raise asyncio.CancelledError("the client cancelled CreateBuild") from error


async def _no_more_messages(messages: Any) -> None:
    async for _ in messages:
        raise InvalidArgument("give an image reference or source chunks, not both")


def _position(view: BuildView) -> int:
    return view.position
