"""Notification targets projected from their events, and the queries and writes of the
delivery worker's records (see :mod:`projections.notification_sql`).

No row holds a target's signing secret: the worker reads it from the target's aggregate.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from ledger.domain import NotificationTarget
from ledger.notifications.views import DeliveryView, TargetView
from projections import notification_sql, sql
from projections.audit import to_json
from projections.changes import Change, Insert, Update


def _target_created(e: NotificationTarget.Created, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "id": e.target_id,
        "url": e.url,
        "events": to_json(list(e.events)),
        "app": e.app,
        "format": e.format,
        "actor": e.actor,
        "created_at": time,
        "position": position,
        "deleted": 0,
    }
    return [Insert("notification_targets", row)]


def _target_deleted(e: NotificationTarget.Deleted, position: int, time: int) -> list[Change]:
    return [Update("notification_targets", (e.target_id,), {"deleted": 1})]


HANDLERS: dict[type[Any], Callable[[Any, int, int], list[Change]]] = {
    NotificationTarget.Created: _target_created,
    NotificationTarget.Deleted: _target_deleted,
}


def target_view(row: Any) -> TargetView:
    return TargetView(
        id=row["id"],
        url=row["url"],
        events=tuple(json.loads(row["events"])),
        app=row["app"],
        format=row["format"],
        actor=row["actor"],
        created_at=sql.parse_timestamp(row["created_at"]),
        created_position=row["position"],
        position=row["delivered"],
        deleted=bool(row["deleted"]),
    )


def delivery_view(row: Any) -> DeliveryView:
    return DeliveryView(
        target_id=row["target_id"],
        log_position=row["log_position"],
        delivery_id=row["delivery_id"],
        event=row["event"],
        status=row["status"],
        attempts=row["attempts"],
        status_code=row["status_code"],
        error=row["error"],
        first_attempt_at=sql.parse_timestamp(row["first_attempt_at"]),
        last_attempt_at=sql.parse_timestamp(row["last_attempt_at"]),
    )


class NotificationQueries(ABC):
    """Targets and deliveries (the ``TargetDirectory`` and ``DeliveryLog`` ports)."""

    dialect: sql.Dialect

    @abstractmethod
    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        """A cursor inside one database transaction (committed only if ``commit``)."""

    @abstractmethod
    def _rows(self, statement: str, *params: object) -> list[Any]:
        """The rows of one statement, read in a transaction of its own."""

    def notification_target(self, target_id: str) -> TargetView | None:
        found = self._rows(notification_sql.SELECT_TARGET, target_id)
        return target_view(found[0]) if found else None

    def notification_targets(self, include_deleted: bool = False) -> Sequence[TargetView]:
        """Oldest first."""
        found = self._rows(notification_sql.LIST_TARGETS, int(include_deleted))
        return [target_view(row) for row in found]

    def notification_deliveries(self, target_id: str = "", limit: int = 50) -> list[DeliveryView]:
        """Newest first: of one target by log position, of all by last attempt."""
        if target_id:
            found = self._rows(notification_sql.TARGET_DELIVERIES, target_id, limit)
        else:
            found = self._rows(notification_sql.LIST_DELIVERIES, limit)
        return [delivery_view(row) for row in found]

    def notification_delivery(self, target_id: str, log_position: int) -> DeliveryView | None:
        """The delivery of one event to one target, if an attempt was recorded."""
        found = self._rows(notification_sql.SELECT_DELIVERY, target_id, log_position)
        return delivery_view(found[0]) if found else None

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
        time = sql.timestamp(at)
        values = (target_id, log_position, delivery_id, event, status, status_code, error)
        self._write(notification_sql.RECORD_ATTEMPT, *values, time, time)

    def advance(self, target_id: str, position: int) -> None:
        self._write(notification_sql.ADVANCE, target_id, position)

    def _write(self, statement: str, *params: object) -> None:
        with self._transaction(commit=True) as cursor:
            cursor.execute(self.dialect.sql(statement), params)
