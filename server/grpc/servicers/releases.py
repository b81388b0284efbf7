"""Releases and promotions: GetRelease, ListReleases, DiffReleases, GetActiveRelease,
PromoteRelease, RollbackRelease, GetPromotion, ListPromotions, CancelPromotion."""

from __future__ import annotations

from typing import Any

from ledger import commands
from ledger.errors import InvalidArgument
from ledger_api.v1 import ledger_pb2 as pb
from projections.views import PromotionView, ReleaseView
from server.backend import meta_of
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.servicers.base import ServicerBase
from server.infra.authn import revealing


class ReleasesServicer(ServicerBase):
    """Releases (immutable build + env snapshots) and the promotions that activate them."""

    @rpc
    async def GetRelease(self, request: pb.GetReleaseRequest, context: Any) -> pb.Release:
        return await self.release_with_env(request.app, request.id, request.reveal)

    async def release_with_env(self, app: str, release_id: str, reveal: bool) -> pb.Release:
        view = await self.release_view(app, release_id)
        # Views carry env keys only; the values come from the Release aggregate.
        aggregate = await self.backend.run(self.backend.service.ledger.release, view.app, view.id)
        if revealing(view.app, reveal):
            return convert.release(view, dict(aggregate.env))
        masked = convert.release(view, dict.fromkeys(aggregate.env, ""))
        masked.env_masked = True
        return masked

    @rpc
    async def ListReleases(
        self, request: pb.ListReleasesRequest, context: Any
    ) -> pb.ListReleasesResponse:
        reader = self.backend.reader
        page = await self.app_page("ListReleases", request, reader.list_releases, _version)
        return pb.ListReleasesResponse(
            releases=[convert.release(view) for view in page.items],
            next_page_token=page.next_page_token,
        )

    @rpc
    async def DiffReleases(self, request: pb.DiffReleasesRequest, context: Any) -> pb.ReleaseDiff:
        older = await self.release_view(request.app, request.from_release_id)
        newer = await self.release_view(request.app, request.to_release_id)
        ledger = self.backend.service.ledger
        before = await self.backend.run(ledger.release, older.app, older.id)
        after = await self.backend.run(ledger.release, newer.app, newer.id)
        diff = before.diff(after)
        return pb.ReleaseDiff(
            from_release=convert.release(older),
            to_release=convert.release(newer),
            build_changed=diff.build_changed,
            added=diff.added,
            changed=diff.changed,
            removed=diff.removed,
        )

    @rpc
    async def GetActiveRelease(
        self, request: pb.GetActiveReleaseRequest, context: Any
    ) -> pb.GetActiveReleaseResponse:
        await self.check_app(request.app)
        if request.as_of_position < 0:
            raise InvalidArgument("as_of_position must not be negative")
        as_of_time = (
            convert.to_datetime(request.as_of_time, "as_of_time")
            if request.HasField("as_of_time")
            else None
        )
        release_id, position = await self.backend.run(
            self.backend.reader.active_release_as_of,
            request.app,
            position=request.as_of_position,
            time=as_of_time,
        )
        response = pb.GetActiveReleaseResponse(position=position)
        if release_id:
            response.release.CopyFrom(convert.release(await self.release_view("", release_id)))
        return response

    # -- promotions -------------------------------------------------------------

    @rpc
    async def PromoteRelease(self, request: pb.PromoteReleaseRequest, context: Any) -> pb.Promotion:
        meta = meta_of(context, request.request_id)
        command = commands.PromoteRelease(
            app=request.app,
            release_id=request.release_id,
            description=request.description,
            deadline_seconds=int(request.deadline_seconds),
            queue=request.queue,
        )
        outcome = await self.backend.execute(self.backend.service.promote, command, meta)
        return convert.promotion_message(await self.promotion_view("", outcome.promotion_id))

    @rpc
    async def RollbackRelease(
        self, request: pb.RollbackReleaseRequest, context: Any
    ) -> pb.RollbackReleaseResponse:
        meta = meta_of(context, request.request_id)
        command = commands.RollbackRelease(
            app=request.app,
            release_id=request.release_id,
            description=request.description,
            deadline_seconds=int(request.deadline_seconds),
            queue=request.queue,
        )
        outcome = await self.backend.execute(self.backend.service.rollback, command, meta)
        release = await self.release_view("", outcome.release_id)
        promotion = await self.promotion_view("", outcome.promotion_id)
        return pb.RollbackReleaseResponse(
            release=convert.release(release), promotion=convert.promotion_message(promotion)
        )

    @rpc
    async def GetPromotion(self, request: pb.GetPromotionRequest, context: Any) -> pb.Promotion:
        return convert.promotion_message(await self.promotion_view(request.app, request.id))

    @rpc
    async def ListPromotions(
        self, request: pb.ListPromotionsRequest, context: Any
    ) -> pb.ListPromotionsResponse:
        reader = self.backend.reader
        page = await self.app_page("ListPromotions", request, reader.list_promotions, _position)
        return pb.ListPromotionsResponse(
            promotions=[convert.promotion_message(view) for view in page.items],
            next_page_token=page.next_page_token,
        )

    @rpc
    async def CancelPromotion(
        self, request: pb.CancelPromotionRequest, context: Any
    ) -> pb.Promotion:
        meta = meta_of(context, request.request_id)
        command = commands.CancelPromotion(app=request.app, promotion_id=request.id)
        outcome = await self.backend.execute(self.backend.service.cancel, command, meta)
        return convert.promotion_message(await self.promotion_view("", outcome.promotion_id))


def _version(view: ReleaseView) -> int:
    return view.version


def _position(view: PromotionView) -> int:
    return view.position
