"""The client's calls of notification targets and their deliveries.

Apart from :class:`~cli.client.LedgerClient` (which inherits them) because they serve
``ledgerctl notifications``, which names no app. Mutating calls get their ``request_id``
once, before any retry, like every other call.
"""

from __future__ import annotations

from collections.abc import Sequence

from cli.client_base import ClientBase
from cli.transport import new_request_id
from ledger_api.v1 import ledger_pb2 as pb


class NotificationCalls(ClientBase):
    """Typed calls of the notification RPCs, with the transport's rules."""

    def create_notification_target(
        self, url: str, events: Sequence[str], app: str = "", body_format: str = "json"
    ) -> pb.CreateNotificationTargetResponse:
        request = pb.CreateNotificationTargetRequest(
            url=url, events=list(events), app=app, format=body_format, request_id=new_request_id()
        )
        return self.transport.unary(
            self.stub.CreateNotificationTarget, request, pb.CreateNotificationTargetResponse
        )

    def list_notification_targets(self) -> list[pb.NotificationTarget]:
        request = pb.ListNotificationTargetsRequest()
        found = self.transport.unary(
            self.stub.ListNotificationTargets, request, pb.ListNotificationTargetsResponse
        )
        return list(found.targets)

    def delete_notification_target(self, target_id: str) -> pb.NotificationTarget:
        request = pb.DeleteNotificationTargetRequest(id=target_id, request_id=new_request_id())
        return self.transport.unary(
            self.stub.DeleteNotificationTarget, request, pb.NotificationTarget
        )

    def list_deliveries(self, target_id: str = "", limit: int = 50) -> list[pb.Delivery]:
        request = pb.ListDeliveriesRequest(target_id=target_id, limit=limit)
        found = self.transport.unary(self.stub.ListDeliveries, request, pb.ListDeliveriesResponse)
        return list(found.deliveries)
