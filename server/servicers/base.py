"""The base every servicer part shares: the backend and small lookups."""

from __future__ import annotations

from ledger.errors import NotFound
from ledger.ids import BUILD, PROMOTION, RELEASE, check_app_name, check_id
from projections.views import BuildView, PromotionView, ReleaseView
from server.backend import Backend


class ServicerBase:
    """Holds the :class:`~server.backend.Backend`; parts of the servicer derive from it."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def release_view(self, app: str, release_id: str) -> ReleaseView:
        """A release, which must belong to ``app`` when given (NOT_FOUND otherwise)."""
        _check(app)
        check_id(RELEASE, release_id)
        view = await self.backend.run(self.backend.reader.get_release, release_id)
        if view is None or (app and view.app != app):
            raise NotFound(f"release {release_id} not found{_where(app)}")
        return view

    async def build_view(self, app: str, build_id: str) -> BuildView:
        _check(app)
        check_id(BUILD, build_id)
        view = await self.backend.run(self.backend.reader.get_build, build_id)
        if view is None or (app and view.app != app):
            raise NotFound(f"build {build_id} not found{_where(app)}")
        return view

    async def promotion_view(self, app: str, promotion_id: str) -> PromotionView:
        _check(app)
        check_id(PROMOTION, promotion_id)
        view = await self.backend.run(self.backend.reader.get_promotion, promotion_id)
        if view is None or (app and view.app != app):
            raise NotFound(f"promotion {promotion_id} not found{_where(app)}")
        return view

    async def check_app(self, app: str) -> None:
        """INVALID_ARGUMENT for a malformed name, NOT_FOUND for an unknown app."""
        await self.backend.app_view(app)


def _check(app: str) -> None:
    if app:
        check_app_name(app)


def _where(app: str) -> str:
    return f" in app {app}" if app else ""
