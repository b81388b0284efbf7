"""Notification targets and their deliveries: CreateNotificationTarget … ListDeliveries.

Translation only: the use cases are :class:`~ledger.notifications.service.
NotificationService`'s. Admission (admin keys only) is the interceptor's. No response
carries a target's secret, but the answer to the CreateNotificationTarget call that made it.
"""

from __future__ import annotations

from typing import Any

from ledger.notifications.service import CreateNotificationTarget
from ledger.notifications.views import DeliveryView, TargetView
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import meta_of
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.interceptor import principal_of
from server.grpc.servicers.base import ServicerBase

DEFAULT_DELIVERIES = 50


def target_message(view: TargetView) -> pb.NotificationTarget:
    return pb.NotificationTarget(
        id=view.id,
        url=view.url,
        events=list(view.events),
        app=view.app,
        format=view.format,
        actor=view.actor,
        created_at=convert.timestamp(view.created_at),
        position=view.position,
        deleted=view.deleted,
    )


def delivery_message(view: DeliveryView) -> pb.Delivery:
    return pb.Delivery(
        target_id=view.target_id,
        log_position=view.log_position,
        delivery_id=view.delivery_id,
        event=view.event,
        status=view.status,
        attempts=view.attempts,
        status_code=view.status_code,
        error=view.error,
        first_attempt_at=convert.timestamp(view.first_attempt_at),
        last_attempt_at=convert.timestamp(view.last_attempt_at),
    )


class NotificationsServicer(ServicerBase):
    """The notification RPCs of ``ledger.v1.Ledger``."""

    @rpc
    async def CreateNotificationTarget(
        self, request: pb.CreateNotificationTargetRequest, context: Any
    ) -> pb.CreateNotificationTargetResponse:
        meta = meta_of(principal_of(context), request.request_id)
        command = CreateNotificationTarget(
            url=request.url, events=tuple(request.events), app=request.app, format=request.format
        )
        service = self.backend.container.notifications
        created = await self.backend.run(service.create, command, meta)
        await self.backend.caught_up(created.outcome.position)
        view = await self.backend.run(service.view, created.outcome.target_id)
        return pb.CreateNotificationTargetResponse(
            target=target_message(view), secret=created.secret
        )

    @rpc
    async def ListNotificationTargets(
        self, request: pb.ListNotificationTargetsRequest, context: Any
    ) -> pb.ListNotificationTargetsResponse:
        views = await self.backend.run(self.backend.container.notifications.list_targets)
        return pb.ListNotificationTargetsResponse(targets=[target_message(v) for v in views])

    @rpc
    async def DeleteNotificationTarget(
        self, request: pb.DeleteNotificationTargetRequest, context: Any
    ) -> pb.NotificationTarget:
        meta = meta_of(principal_of(context), request.request_id)
        service = self.backend.container.notifications
        outcome = await self.backend.execute(service.delete, request.id, meta)
        return target_message(await self.backend.run(service.view, outcome.target_id))

    @rpc
    async def ListDeliveries(
        self, request: pb.ListDeliveriesRequest, context: Any
    ) -> pb.ListDeliveriesResponse:
        service = self.backend.container.notifications
        limit = request.limit or DEFAULT_DELIVERIES
        views = await self.backend.run(service.deliveries, request.target_id, limit)
        return pb.ListDeliveriesResponse(deliveries=[delivery_message(v) for v in views])
