"""The global log and the rack: ListEvents, WatchEvents, ListRackReleases."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from ledger.errors import InvalidArgument
from ledger.ids import check_app_name
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import Backend
from server.grpc import convert
from server.grpc.errors import abort, rpc
from server.grpc.paging import int_cursor, page_request, paginate
from server.grpc.servicers.base import ServicerBase
from server.grpc.watch import EventMessages, StreamEnded, Watch

EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
MAX_TYPES = 50


class EventsServicer(ServicerBase):
    """Reads the audit timeline: paginated by position, or followed live."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.event_messages = EventMessages()  # made once for every watcher

    @rpc
    async def ListEvents(
        self, request: pb.ListEventsRequest, context: Any
    ) -> pb.ListEventsResponse:
        if request.app:
            await self.check_app(request.app)
        types = _event_types(request.types)
        if request.after_position < 0:
            raise InvalidArgument("after_position must not be negative")
        since = convert.to_datetime(request.since, "since") if request.HasField("since") else None
        until = convert.to_datetime(request.until, "until") if request.HasField("until") else None
        scope = [
            "ListEvents", request.app, types, str(since), str(until), request.after_position,
            request.newest_first,
        ]  # fmt: skip
        paging = page_request(request.page_size, request.page_token, scope)
        cursor = int_cursor(paging)
        views = await self.backend.run(
            self.backend.reader.list_events,
            app=request.app,
            types=types,
            since=since,
            until=until,
            after_position=request.after_position
            if request.newest_first
            else max(request.after_position, cursor),
            before_position=cursor if request.newest_first else 0,
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
    ) -> AsyncIterator[pb.WatchEventsResponse]:
        if request.from_position < 0:
            raise InvalidArgument("from_position must not be negative")
        if request.app:
            # Only the name is checked: watching an app about to be created is fine.
            check_app_name(request.app)
        start = request.from_position
        if request.from_head:
            start = await self.backend.run(self.backend.reader.position)
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
        views = await self.backend.run(self.backend.reader.rack_releases)
        return pb.ListRackReleasesResponse(releases=[convert.rack_release(view) for view in views])


def _event_types(types: Any) -> list[str]:
    if len(types) > MAX_TYPES:
        raise InvalidArgument(f"at most {MAX_TYPES} event types")
    for name in types:
        if not EVENT_TYPE.fullmatch(name):
            raise InvalidArgument(f"invalid event type {name[:40]!r}: e.g. EnvChanged")
    return sorted(set(types))
