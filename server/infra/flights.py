"""Blocking reads in flight, shared: callers asking the same thing at once wait for one.

When a cached answer expires or is dropped, every caller in flight misses it at the same
moment; without sharing, each would send the same read to the thread pool and the
database. A caller joins a read in flight only while its answer is still right for that
caller: the read's stamp (taken before it began) is checked by ``valid``, so nobody gets
an answer older than a change it was told about.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class SharedReads(Generic[K, T]):
    """Reads in flight by key, each with the stamp it began under (event loop only)."""

    def __init__(self) -> None:
        self._reads: dict[K, tuple[int, asyncio.Future[T]]] = {}

    async def read(
        self,
        key: K,
        valid: Callable[[int], bool],
        start: Callable[[], tuple[int, asyncio.Future[T]]],
    ) -> T:
        """The answer of the read of ``key`` in flight if ``valid(its stamp)``, else of a
        new one: ``start()`` takes the stamp, then begins the read."""
        found = self._reads.get(key)
        if found is None or not valid(found[0]):
            found = start()
            self._reads[key] = found
            found[1].add_done_callback(functools.partial(self._done, key))
        # Shielded: a caller that goes away does not cancel the others' read.
        return await asyncio.shield(found[1])

    def __len__(self) -> int:
        return len(self._reads)

    def _done(self, key: K, future: asyncio.Future[T]) -> None:
        found = self._reads.get(key)
        if found is not None and found[1] is future:
            del self._reads[key]
        if not future.cancelled():
            future.exception()  # retrieved: a caller that went away must not log it
