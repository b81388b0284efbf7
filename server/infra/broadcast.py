"""Fan-out of live events from the projection worker thread to WatchEvents streams.

The projection worker calls :meth:`Broadcaster.publish` (its listener) from its own
thread after each committed batch. One ``call_soon_threadsafe`` per batch hands the
batch to the event loop, where it is offered to every subscription: one bounded
``asyncio.Queue`` per watcher, so a watcher costs a coroutine and a queue, never a
thread. A watcher too slow to drain its queue is marked as overflowed rather than
slowing everyone down; its stream then ends and the client resumes from the last
position it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence

from ledger.views import EventView

log = logging.getLogger("ledgerd.watch")

DEFAULT_QUEUE_BATCHES = 256

Batch = Sequence[EventView]


class Subscription:
    """One watcher's view of the live log: a bounded queue of batches."""

    def __init__(self, app: str, max_batches: int) -> None:
        self.app = app
        self.queue: asyncio.Queue[Batch] = asyncio.Queue(max_batches)
        self.overflowed = False
        self.closed = False

    def offer(self, batch: Batch) -> None:
        if self.overflowed or self.closed:
            return
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            # The queue stays full, so a waiting watcher wakes up and sees the flag.
            self.overflowed = True

    def close(self) -> None:
        """The server is stopping: wake the watcher so that its stream ends."""
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(())

    def reset(self) -> None:
        """Forget what was queued (the caller re-reads it from the read model)."""
        self.drain()
        self.overflowed = False

    def drain(self) -> list[EventView]:
        """Everything queued now, oldest first, without waiting."""
        events: list[EventView] = []
        while not self.queue.empty():
            events.extend(self.queue.get_nowait())
        return events

    async def next_events(self, timeout: float) -> list[EventView]:
        """Wait up to ``timeout`` for queued events ([] on timeout or close)."""
        if not self.queue.empty() or self.closed:
            return self.drain()
        try:
            async with asyncio.timeout(timeout):
                first = await self.queue.get()
        except TimeoutError:
            return []
        return [*first, *self.drain()]


class Broadcaster:
    """Publishes committed event batches to every live subscription.

    ``head`` is the newest position published (or known at start), sent to watchers as
    a heartbeat so that idle clients can checkpoint.
    """

    def __init__(self, max_batches: int = DEFAULT_QUEUE_BATCHES) -> None:
        self.max_batches = max_batches
        self.head = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._by_app: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()
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
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone
            loop.call_soon_threadsafe(self._fan_out, list(events))

    # -- event loop side --------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop, head: int = 0) -> None:
        """Start delivering to the loop the server runs on."""
        with self._lock:
            self._loop = loop
            self.head = max(self.head, head)

    def subscribe(self, app: str = "") -> Subscription:
        subscription = Subscription(app, self.max_batches)
        if self._closed:
            subscription.close()
        self._by_app.setdefault(app, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        watchers = self._by_app.get(subscription.app)
        if watchers is not None:
            watchers.discard(subscription)
            if not watchers:
                del self._by_app[subscription.app]

    def watcher_count(self) -> int:
        return sum(len(watchers) for watchers in self._by_app.values())

    def close(self) -> None:
        """End every watch stream (server shutdown); later subscriptions end at once."""
        self._closed = True
        for watchers in self._by_app.values():
            for subscription in watchers:
                subscription.close()

    def _fan_out(self, events: list[EventView]) -> None:
        self.head = max(self.head, events[-1].position)
        for subscription in self._by_app.get("", ()):
            subscription.offer(events)
        if not self._by_app.keys() - {""}:
            return  # nobody watches a single app
        per_app: dict[str, list[EventView]] = {}
        for event in events:
            if event.app in self._by_app:
                per_app.setdefault(event.app, []).append(event)
        for app_name, app_events in per_app.items():
            if app_name:
                for subscription in self._by_app[app_name]:
                    subscription.offer(app_events)
