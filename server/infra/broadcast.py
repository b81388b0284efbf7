"""Fan-out of live events from the projection worker thread to WatchEvents streams.

The projection worker calls :meth:`Broadcaster.publish` (its listener) from its own
thread after each committed batch. Publishing only appends the batch to a pending list;
the first batch since the last fan-out also schedules one fan-out on the event loop
(``call_soon_threadsafe``), so the worker never waits and the many one-event batches a
busy ledger commits are coalesced into one fan-out per loop turn.

The fan-out cuts what is pending into :class:`Chunk` s, one set per filter (every app;
each watched app), and offers the same chunk objects to every subscription of that
filter. A chunk remembers its wire encoding, made by the first watcher that sends it,
so a batch is encoded once per filter however many watchers follow it
(:mod:`server.grpc.watch` does the encoding). A subscription only queues references:
a watcher costs a coroutine and a short deque, never a thread. A watcher too slow to
drain its queue is marked as overflowed rather than slowing everyone down (further
offers to it cost nothing); its stream then ends and the client resumes from the last
position it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter, deque
from collections.abc import Callable, Sequence

from ledger.views import EventView

DEFAULT_QUEUE_BATCHES = 256  # chunks a watcher may have queued before it is cut
CHUNK_EVENTS = 100  # at most this many events per chunk (a response packs several)
# Who a subscription streams to, counted apart in ``Broadcaster.open_by_stream`` (/metrics).
WATCH = "watch"  # gRPC WatchEvents
BUILD_LOGS = "build_logs"  # gRPC StreamBuildLogs
CONSOLE = "console"  # the console's live pages
STREAMS = (WATCH, BUILD_LOGS, CONSOLE)

Batch = Sequence[EventView]


class Chunk:
    """Consecutive events of one filter, shared by all of its watchers, with their wire
    encoding made once (event loop side only: no lock)."""

    __slots__ = ("_encoded", "events", "first", "last")

    def __init__(self, events: Batch) -> None:
        self.events = events
        self.first = events[0].position
        self.last = events[-1].position
        self._encoded: bytes | None = None

    def __len__(self) -> int:
        return len(self.events)

    def encoded(self, encode: Callable[[Batch], bytes]) -> bytes:
        """The events encoded by ``encode`` (one encoder per process: the first call's
        result is kept for every later caller)."""
        if self._encoded is None:
            self._encoded = encode(self.events)
        return self._encoded


def chunked(events: Batch, size: int = CHUNK_EVENTS) -> list[Chunk]:
    return [Chunk(events[start : start + size]) for start in range(0, len(events), size)]


class Subscription:
    """One watcher's view of the live log: a bounded queue of shared chunks."""

    def __init__(self, app: str, max_batches: int, stream: str = WATCH) -> None:
        self.app = app
        self.stream = stream
        self.max_batches = max_batches
        self.overflowed = False
        self.closed = False
        self._chunks: deque[Chunk] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, chunk: Chunk) -> None:
        if self.overflowed or self.closed:
            return
        if len(self._chunks) >= self.max_batches:
            # It will be cut (or re-read its backlog): what it held is no use any more.
            self.overflowed = True
            self._chunks.clear()
        else:
            self._chunks.append(chunk)
        self._wake()

    def close(self) -> None:
        """The server is stopping: wake the watcher so that its stream ends."""
        self.closed = True
        self._wake()

    def reset(self) -> None:
        """Forget what was queued (the caller re-reads it from the read model)."""
        self._chunks.clear()
        self.overflowed = False

    def take(self) -> list[Chunk]:
        """Every chunk queued now, oldest first, without waiting."""
        chunks = list(self._chunks)
        self._chunks.clear()
        return chunks

    def drain(self) -> list[EventView]:
        """Everything queued now, oldest first, without waiting."""
        return [event for chunk in self.take() for event in chunk.events]

    async def next_chunks(self, timeout: float) -> list[Chunk]:
        """Wait up to ``timeout`` for queued chunks ([] on timeout, close or overflow)."""
        if not self._chunks and not self.closed and not self.overflowed:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(timeout, _settle, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        return self.take()

    async def next_events(self, timeout: float) -> list[EventView]:
        """Wait up to ``timeout`` for queued events ([] on timeout or close)."""
        return [event for chunk in await self.next_chunks(timeout) for event in chunk.events]

    def _wake(self) -> None:
        if self._waiter is not None:
            _settle(self._waiter)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Broadcaster:
    """Publishes committed event batches to every live subscription.

    ``head`` is the newest position published (or known at start), sent to watchers as
    a heartbeat so that idle clients can checkpoint.
    """

    def __init__(
        self, max_batches: int = DEFAULT_QUEUE_BATCHES, chunk_events: int = CHUNK_EVENTS
    ) -> None:
        self.max_batches = max_batches
        self.chunk_events = chunk_events
        self.head = 0
        self.watchers = 0  # subscriptions open now
        self.open_by_stream: Counter[str] = Counter()  # the same, by who they stream to
        self._loop: asyncio.AbstractEventLoop | None = None
        self._by_app: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._pending: list[EventView] = []
        self._scheduled = False
        self._closed = False

    # -- worker thread side --------------------------------------------------------

    def publish(self, events: list[EventView]) -> None:
        """The projection worker's listener: called from its thread, never blocks."""
        if not events:
            return
        with self._lock:
            loop = self._loop
            if loop is None:
                self.head = max(self.head, events[-1].position)
                return
            self._pending.extend(events)
            if self._scheduled:
                return  # the fan-out already scheduled takes these too
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone
            loop.call_soon_threadsafe(self._fan_out_pending)

    # -- event loop side --------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop, head: int = 0) -> None:
        """Start delivering to the loop the server runs on."""
        with self._lock:
            self._loop = loop
            self._pending = []  # nobody on the new loop subscribed before these
            self._scheduled = False
            self.head = max(self.head, head)

    def subscribe(self, app: str = "", stream: str = WATCH) -> Subscription:
        subscription = Subscription(app, self.max_batches, stream)
        if self._closed:
            subscription.close()
        self._by_app.setdefault(app, set()).add(subscription)
        self.watchers += 1
        self.open_by_stream[stream] += 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        watchers = self._by_app.get(subscription.app)
        if watchers is not None and subscription in watchers:
            watchers.remove(subscription)
            self.watchers -= 1
            self.open_by_stream[subscription.stream] -= 1
            if not watchers:
                del self._by_app[subscription.app]

    def open_streams(self) -> dict[str, int]:
        """Subscriptions open now, by who they stream to (every kind, zeros included)."""
        return {stream: self.open_by_stream[stream] for stream in STREAMS}

    def watcher_count(self) -> int:
        return self.watchers

    def close(self) -> None:
        """End every watch stream (server shutdown); later subscriptions end at once."""
        self._closed = True
        for watchers in self._by_app.values():
            for subscription in watchers:
                subscription.close()

    def _fan_out_pending(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
            self._scheduled = False
        if events:
            self._fan_out(events)

    def _fan_out(self, events: list[EventView]) -> None:
        self.head = max(self.head, events[-1].position)
        everyone = self._by_app.get("")
        if everyone:
            _offer(chunked(events, self.chunk_events), everyone)
        if not self._by_app.keys() - {""}:
            return  # nobody watches a single app
        per_app: dict[str, list[EventView]] = {}
        for event in events:
            if event.app in self._by_app:
                per_app.setdefault(event.app, []).append(event)
        for app_name, app_events in per_app.items():
            if app_name:
                _offer(chunked(app_events, self.chunk_events), self._by_app[app_name])


def _offer(chunks: list[Chunk], watchers: set[Subscription]) -> None:
    for subscription in watchers:
        for chunk in chunks:
            subscription.offer(chunk)
