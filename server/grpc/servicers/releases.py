"""Releases and promotions: GetRelease, ListReleases, DiffReleases, GetActiveRelease,
PromoteRelease, RollbackRelease, GetPromotion, ListPromotions, CancelPromotion."""

from __future__ import annotations

from typing import Any

from ledger import commands
from ledger.commands import Outcome
from ledger.views import PromotionView, ReleaseView
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import meta_of
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.interceptor import principal_of
from server.grpc.paging import PageRequest, int_cursor, page_request, paginate
from server.grpc.servicers.base import ServicerBase, rendered


class ReleasesServicer(ServicerBase):
    """Releases (immutable build + env snapshots) and the promotions that activate them."""

    @rpc
    async def GetRelease(self, request: pb.GetReleaseRequest, context: Any) -> pb.Release:
        detail = await self.backend.run(
            self.backend.queries.release_detail,
            principal_of(context),
            request.app,
            request.id,
            reveal=request.reveal,
        )
        return convert.release_detail(detail)

    @rpc
    async def ListReleases(
        self, request: pb.ListReleasesRequest, context: Any
    ) -> pb.ListReleasesResponse:
        """The newest releases come from the app's hot entry (the first page, rendered
        once per entry); pages deeper than the releases it keeps, from the views."""
        paging = page_request(request.page_size, request.page_token, ["ListReleases", request.app])
        before, fetched = int_cursor(paging), paging.size + 1
        backend = self.backend
        entry = backend.hot.get(request.app)
        if not before and (entry is None or entry.releases is None):
            entry = await backend.hot_app(request.app, releases=True)  # NOT_FOUND if unknown
        kept = entry.releases_before(before, fetched) if entry is not None else None
        if kept is None:
            views = await backend.run(backend.queries.releases, request.app, before, fetched)
            return _releases_page(paging, views)
        if entry is None or before:
            return _releases_page(paging, kept)
        return rendered(entry, ("ListReleases", paging.size), lambda: _releases_page(paging, kept))

    @rpc
    async def DiffReleases(self, request: pb.DiffReleasesRequest, context: Any) -> pb.ReleaseDiff:
        comparison = await self.backend.run(
            self.backend.queries.diff,
            request.app,
            request.from_release_id,
            request.to_release_id,
        )
        diff = comparison.diff
        return pb.ReleaseDiff(
            from_release=convert.release(comparison.older),
            to_release=convert.release(comparison.newer),
            build_changed=diff.build_changed,
            added=diff.added,
            changed=diff.changed,
            removed=diff.removed,
        )

    @rpc
    async def GetActiveRelease(
        self, request: pb.GetActiveReleaseRequest, context: Any
    ) -> pb.GetActiveReleaseResponse:
        release, position = await self.backend.run(
            self.backend.queries.active_release_as_of,
            request.app,
            position=request.as_of_position,
            time=convert.optional_time(request, "as_of_time"),
        )
        response = pb.GetActiveReleaseResponse(position=position)
        if release is not None:
            response.release.CopyFrom(convert.release(release))
        return response

    # -- promotions -------------------------------------------------------------

    @rpc
    async def PromoteRelease(self, request: pb.PromoteReleaseRequest, context: Any) -> pb.Promotion:
        meta = meta_of(principal_of(context), request.request_id)
        command = commands.PromoteRelease(
            app=request.app,
            release_id=request.release_id,
            description=request.description,
            deadline_seconds=int(request.deadline_seconds),
            queue=request.queue,
        )
        outcome = await self.backend.execute(self.backend.service.promote, command, meta)
        return await self._promotion(outcome)

    @rpc
    async def RollbackRelease(
        self, request: pb.RollbackReleaseRequest, context: Any
    ) -> pb.RollbackReleaseResponse:
        meta = meta_of(principal_of(context), request.request_id)
        command = commands.RollbackRelease(
            app=request.app,
            release_id=request.release_id,
            description=request.description,
            deadline_seconds=int(request.deadline_seconds),
            queue=request.queue,
        )
        backend = self.backend
        outcome = await backend.execute(backend.service.rollback, command, meta)
        release = await backend.written(
            outcome.position, lambda: backend.run(backend.queries.release, "", outcome.release_id)
        )
        return pb.RollbackReleaseResponse(
            release=convert.release(release), promotion=await self._promotion(outcome)
        )

    @rpc
    async def GetPromotion(self, request: pb.GetPromotionRequest, context: Any) -> pb.Promotion:
        view = await self.backend.run(self.backend.queries.promotion, request.app, request.id)
        return convert.promotion_message(view)

    @rpc
    async def ListPromotions(
        self, request: pb.ListPromotionsRequest, context: Any
    ) -> pb.ListPromotionsResponse:
        queries = self.backend.queries
        page = await self.app_page("ListPromotions", request, queries.promotions, _position)
        return pb.ListPromotionsResponse(
            promotions=[convert.promotion_message(view) for view in page.items],
            next_page_token=page.next_page_token,
        )

    @rpc
    async def CancelPromotion(
        self, request: pb.CancelPromotionRequest, context: Any
    ) -> pb.Promotion:
        meta = meta_of(principal_of(context), request.request_id)
        command = commands.CancelPromotion(app=request.app, promotion_id=request.id)
        outcome = await self.backend.execute(self.backend.service.cancel, command, meta)
        return await self._promotion(outcome)

    async def _promotion(self, outcome: Outcome) -> pb.Promotion:
        """The promotion a command just recorded or changed."""
        backend, promotion_id = self.backend, outcome.promotion_id
        view = await backend.written(
            outcome.position, lambda: backend.run(backend.queries.promotion, "", promotion_id)
        )
        return convert.promotion_message(view)


def _releases_page(paging: PageRequest, views: list[ReleaseView]) -> pb.ListReleasesResponse:
    page = paginate(paging, views, _version)
    return pb.ListReleasesResponse(
        releases=[convert.release(view) for view in page.items],
        next_page_token=page.next_page_token,
    )


def _version(view: ReleaseView) -> int:
    return view.version


def _position(view: PromotionView) -> int:
    return view.position
