"""Awaiting a projected log position on the event loop, without a thread per waiter.

After a command the API answers only once the projections include its write
(read-your-writes). Waiting for that in a pool thread cost a thread hand-off and a
condition variable woken for every waiter at every batch. Here each waiter is a future
on the event loop, kept in a heap by position; the projection worker reports each new
position (one ``call_soon_threadsafe`` per batch, and none when nobody waits) and the
futures due are resolved in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable

Waiting = tuple[int, int, "asyncio.Future[None]"]


class ProjectedPositions:
    """Futures resolved when the projections reach a position.

    ``current`` reads the position projected so far (the worker's, updated before it
    calls :meth:`projected`, which is what makes the check-then-wait below race-free).
    """

    def __init__(self, current: Callable[[], int]) -> None:
        self._current = current
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[Waiting] = []
        self._order = itertools.count()

    def projected(self, position: int) -> None:
        """The worker's position listener: called from its thread, never blocks."""
        loop = self._loop
        if loop is None or not self._waiting:
            return  # a waiter registering now re-reads the position itself
        with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone
            loop.call_soon_threadsafe(self._resolve)

    async def wait_for(self, position: int, timeout: float) -> bool:
        """True once ``position`` is projected; False after ``timeout`` seconds."""
        if self._current() >= position:
            return True
        loop = asyncio.get_running_loop()
        self._loop = loop
        entry: Waiting = (position, next(self._order), loop.create_future())
        heapq.heappush(self._waiting, entry)
        if self._current() >= position:  # projected between the two reads
            self._resolve()
        try:
            async with asyncio.timeout(timeout):
                await entry[2]
        except TimeoutError:
            with contextlib.suppress(ValueError):
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
            return False
        return True

    def _resolve(self) -> None:
        current = self._current()
        while self._waiting and self._waiting[0][0] <= current:
            future = heapq.heappop(self._waiting)[2]
            if not future.done():
                future.set_result(None)
