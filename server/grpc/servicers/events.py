"""The global log and the rack: ListEvents, WatchEvents, ListRackReleases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from ledger.errors import InvalidArgument
from ledger.ids import check_app_name
from ledger.queries import EventQuery
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import Backend
from server.grpc import convert
from server.grpc.errors import abort, rpc
from server.grpc.paging import int_cursor, page_request, paginate
from server.grpc.servicers.base import ServicerBase
from server.grpc.watch import EventMessages, StreamEnded, Watch


class EventsServicer(ServicerBase):
    """Reads the audit timeline: paginated by position, or followed live."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.event_messages = EventMessages()  # made once for every watcher

    @rpc
    async def ListEvents(
        self, request: pb.ListEventsRequest, context: Any
    ) -> pb.ListEventsResponse:
        queries = self.backend.queries
        if request.app:
            await self.backend.run(queries.app, request.app)
        since = convert.optional_time(request, "since")
        until = convert.optional_time(request, "until")
        query = EventQuery(request.app, tuple(request.types), since, until).checked()
        if request.after_position < 0:
            raise InvalidArgument("after_position must not be negative")
        scope = [
            "ListEvents", request.app, list(query.types), str(since), str(until),
            request.after_position, request.newest_first,
        ]  # fmt: skip
        paging = page_request(request.page_size, request.page_token, scope)
        cursor = int_cursor(paging)
        if request.newest_first:
            query, after = replace(query, before=cursor), request.after_position
        else:
            after = max(request.after_position, cursor)
        views = await self.backend.run(
            queries.events,
            query,
            after_position=after,
            newest_first=request.newest_first,
            limit=paging.size + 1,
        )
        page = paginate(paging, views, lambda view: view.position)
        return pb.ListEventsResponse(
            events=[convert.event(view) for view in page.items],
            next_page_token=page.next_page_token,
        )

    @rpc
    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: Any
    ) -> AsyncIterator[Any]:  # a WatchEventsResponse's wire bytes (see watch_wire)
        if request.from_position < 0:
            raise InvalidArgument("from_position must not be negative")
        if request.app:
            # Only the name is checked: watching an app about to be created is fine.
            check_app_name(request.app)
        start = request.from_position
        if request.from_head:
            start = await self.backend.run(self.backend.queries.head)
        watch = Watch(self.backend, self.event_messages, start, request.app)
        try:
            async for response in watch.responses():
                yield response
        except StreamEnded as end:
            await abort(context, end.code, end.message)

    @rpc
    async def ListRackReleases(
        self, request: pb.ListRackReleasesRequest, context: Any
    ) -> pb.ListRackReleasesResponse:
        views = await self.backend.run(self.backend.queries.rack_releases)
        return pb.ListRackReleasesResponse(releases=[convert.rack_release(view) for view in views])
