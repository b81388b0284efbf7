"""The base every servicer part shares: the backend, a page of a per-app list, and the
messages rendered once per hot entry."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from projections.hot import HotApp
from server.backend import Backend
from server.grpc.paging import Page, int_cursor, page_request, paginate

Item = TypeVar("Item")
Message = TypeVar("Message")
MEMO_LIMIT = 8  # messages kept per hot entry (a caller could ask for every page size)


class ServicerBase:
    """Holds the :class:`~server.backend.Backend`; parts of the servicer derive from it."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def app_page(
        self,
        method: str,
        request: Any,
        fetch: Callable[[str, int, int], list[Item]],
        key: Callable[[Item], int],
    ) -> Page[Item]:
        """One page of a per-app list keyed by a number (version, position), newest first;
        ``fetch`` is the read side's query (which refuses an unknown app)."""
        paging = page_request(request.page_size, request.page_token, [method, request.app])
        views = await self.backend.run(fetch, request.app, int_cursor(paging), paging.size + 1)
        return paginate(paging, views, key)


def rendered(entry: HotApp, key: Hashable, render: Callable[[], Message]) -> Message:
    """The message ``render`` builds from ``entry``, built once per entry (entries never
    change, a newer one replaces them), so a hot read converts nothing. The message is
    shared by every call answered with it: it is never modified."""
    found = entry.memo.get(key)
    if found is None:
        found = render()
        if len(entry.memo) < MEMO_LIMIT:
            entry.memo[key] = found
    return cast(Message, found)
