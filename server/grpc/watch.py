"""One WatchEvents stream: backlog from the read model, then live events, no gap, no dup.

The subscription to live events is taken *before* the backlog is read. A batch the
broadcaster delivered before that was committed to the read model before it, so the
backlog sees it; any later batch lands in the subscription's queue. Events already
sent (position <= the last one sent) are skipped, so the switch from backlog to live
has neither a gap nor a duplicate. While the backlog is being read, a queue overflow
is harmless (the read model has those events): the queue is reset and one more
backlog page is read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable

import grpc

from ledger.queries import EventQuery
from ledger.views import EventView
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import Backend
from server.grpc import convert
from server.infra.broadcast import Subscription

HEARTBEAT_SECONDS = 15.0
BACKLOG_PAGE = 500
MAX_EVENTS_PER_RESPONSE = 500
MESSAGE_CACHE = 20_000  # API messages of recent events, shared by the watchers


class StreamEnded(Exception):
    """The stream must end with this status (slow watcher, server shutdown)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class EventMessages:
    """Each event's API message, made once and shared by every watcher that sends it
    (the event loop's side only: no lock)."""

    def __init__(self, size: int = MESSAGE_CACHE) -> None:
        self.size = size
        self._messages: OrderedDict[int, pb.Event] = OrderedDict()

    def __call__(self, event: EventView) -> pb.Event:
        message = self._messages.get(event.position)
        if message is None:
            message = self._messages[event.position] = convert.event(event)
            if len(self._messages) > self.size:
                self._messages.popitem(last=False)
        return message


class Watch:
    """Produces the responses of one watcher, from ``after`` (exclusive) onwards."""

    def __init__(
        self,
        backend: Backend,
        messages: EventMessages,
        after: int,
        app: str,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.backend = backend
        self.messages = messages
        self.sent = after
        self.app = app
        self.heartbeat = heartbeat

    async def responses(self) -> AsyncIterator[pb.WatchEventsResponse]:
        broadcaster = self.backend.broadcaster
        subscription = broadcaster.subscribe(self.app)
        try:
            # A watch opened while the server stops would send its backlog only to be
            # cut again: refuse it, so that the client waits and resumes elsewhere.
            if subscription.closed:
                raise self._shutting_down()
            async for response in self._backlog(subscription):
                yield response
            # Tells the client it is live and where the log's head is.
            yield self._response([])
            async for response in self._live(subscription):
                yield response
        finally:
            broadcaster.unsubscribe(subscription)

    async def _backlog(self, subscription: Subscription) -> AsyncIterator[pb.WatchEventsResponse]:
        while True:
            subscription.reset()
            page = await self.backend.run(
                self.backend.queries.events,
                EventQuery(app=self.app),
                after_position=self.sent,
                limit=BACKLOG_PAGE,
            )
            if page:
                yield self._response(page)
            if len(page) < BACKLOG_PAGE and not subscription.overflowed:
                return

    async def _live(self, subscription: Subscription) -> AsyncIterator[pb.WatchEventsResponse]:
        while True:
            events = await subscription.next_events(self.heartbeat)
            if subscription.overflowed:
                raise StreamEnded(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"watcher too slow: events were dropped; resume from position {self.sent}",
                )
            fresh = [event for event in events if event.position > self.sent]
            for start in range(0, len(fresh), MAX_EVENTS_PER_RESPONSE):
                yield self._response(fresh[start : start + MAX_EVENTS_PER_RESPONSE])
            if subscription.closed:
                raise self._shutting_down()
            if not events:
                yield self._response([])

    def _shutting_down(self) -> StreamEnded:
        return StreamEnded(
            grpc.StatusCode.UNAVAILABLE,
            f"ledgerd is shutting down: resume from position {self.sent}",
        )

    def _response(self, events: Iterable[EventView]) -> pb.WatchEventsResponse:
        messages = [self.messages(event) for event in events]
        if messages:
            self.sent = messages[-1].position
        head = max(self.backend.broadcaster.head, self.sent)
        return pb.WatchEventsResponse(events=messages, head_position=head)
