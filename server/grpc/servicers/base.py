"""The base every servicer part shares: the backend and small lookups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ledger.errors import NotFound
from ledger.ids import BUILD, PROMOTION, RELEASE, check_app_name, check_id
from projections.views import BuildView, PromotionView, ReleaseView
from server.backend import Backend
from server.grpc.paging import Page, int_cursor, page_request, paginate

View = TypeVar("View", BuildView, PromotionView, ReleaseView)
Item = TypeVar("Item")


class ServicerBase:
    """Holds the :class:`~server.backend.Backend`; parts of the servicer derive from it."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def release_view(self, app: str, release_id: str) -> ReleaseView:
        """A release, which must belong to ``app`` when given (NOT_FOUND otherwise)."""
        return await self._owned(
            RELEASE, "release", self.backend.reader.get_release, app, release_id
        )

    async def build_view(self, app: str, build_id: str) -> BuildView:
        return await self._owned(BUILD, "build", self.backend.reader.get_build, app, build_id)

    async def promotion_view(self, app: str, promotion_id: str) -> PromotionView:
        get = self.backend.reader.get_promotion
        return await self._owned(PROMOTION, "promotion", get, app, promotion_id)

    async def _owned(
        self, kind: str, noun: str, get: Callable[[str], View | None], app: str, public_id: str
    ) -> View:
        if app:
            check_app_name(app)
        check_id(kind, public_id)
        view = await self.backend.run(get, public_id)
        if view is None or (app and view.app != app):
            where = f" in app {app}" if app else ""
            raise NotFound(f"{noun} {public_id} not found{where}")
        return view

    async def app_page(
        self,
        method: str,
        request: Any,
        fetch: Callable[[str, int, int], list[Item]],
        key: Callable[[Item], int],
    ) -> Page[Item]:
        """One page of a per-app list keyed by a number (version, position), newest first."""
        await self.check_app(request.app)
        paging = page_request(request.page_size, request.page_token, [method, request.app])
        views = await self.backend.run(fetch, request.app, int_cursor(paging), paging.size + 1)
        return paginate(paging, views, key)

    async def check_app(self, app: str) -> None:
        """INVALID_ARGUMENT for a malformed name, NOT_FOUND for an unknown app."""
        await self.backend.app_view(app)
