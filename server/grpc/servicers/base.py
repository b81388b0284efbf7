"""The base every servicer part shares: the backend, and a page of a per-app list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from server.backend import Backend
from server.grpc.paging import Page, int_cursor, page_request, paginate

Item = TypeVar("Item")


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
