"""What the notification use cases and the delivery worker need from the read side.

The views database implements both (:mod:`projections.notifications`): targets are
projected from their events, deliveries and each target's position are written by the
worker itself, like a projection's tracking row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ledger.notifications.views import DeliveryView, TargetView


class TargetDirectory(Protocol):
    """Targets and deliveries as the views hold them."""

    def notification_target(self, target_id: str) -> TargetView | None: ...

    def notification_targets(self, include_deleted: bool = False) -> Sequence[TargetView]: ...

    def notification_deliveries(
        self, target_id: str = "", limit: int = 50
    ) -> Sequence[DeliveryView]: ...


class DeliveryLog(TargetDirectory, Protocol):
    """What the worker records: each attempt, and how far each target got."""

    def notification_delivery(self, target_id: str, log_position: int) -> DeliveryView | None:
        """The delivery of one event to one target, if an attempt was recorded."""

    def record_attempt(
        self,
        target_id: str,
        log_position: int,
        delivery_id: str,
        event: str,
        status: str,
        status_code: int,
        error: str,
        at: datetime,
    ) -> None:
        """One more attempt of the delivery of ``log_position`` to ``target_id``."""

    def advance(self, target_id: str, position: int) -> None:
        """The target's events up to ``position`` are delivered or given up."""
