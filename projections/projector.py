"""From one decoded domain event to the row changes it makes in the projection tables.

Pure functions of the event and its log position (dispatch on the event class), so
replaying the log from position 0 reproduces the live tables exactly. Every change
*sets* constants taken from the event (never increments), and every event shown in the
audit timeline inserts a row keyed by its position: applying an event twice fails on
that key instead of double-counting. Views get env keys, never values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.domain import App, Build, Promotion, Rack, Release, RequestRecord
from ledger.domain.secrecy import HIDDEN, Mask
from ledger.views import EventView
from projections import keys, notifications, sql, workflows
from projections.audit import Projectable, audit_data, audited, to_json
from projections.changes import Change, Insert, Update
from transparency.leaf_v2 import canonical

__all__ = ["AUDIT_COLUMNS", "AUDIT_ONLY", "Change", "Insert", "Update", "project"]

AUDIT_COLUMNS = ("position", "type", "app", "actor", "time", "request_id", "data")


def project(
    item: Projectable, with_view: bool = True, mask: Mask = HIDDEN
) -> tuple[list[Change], tuple[object, ...] | None, EventView | None]:
    """One event's row changes, its audit row (values of ``AUDIT_COLUMNS``) and, if asked,
    its audit entry. Bookkeeping events (RequestRecorded) have neither of the last two.
    """
    event: Any = item.event
    time = sql.timestamp(event.timestamp)
    handler = _HANDLERS.get(type(event))
    changes = handler(event, item.position, time) if handler else []
    if not audited(event):
        return changes, None, None
    data = audit_data(event, mask)
    app, actor = getattr(event, "app", ""), getattr(event, "actor", "")
    request_id = getattr(event, "request_id", "")
    # The canonical text (ASCII, the same JSON value): the tree's leaf signs this very text
    # as the record's data (projections.merkle), so it is encoded once per event.
    row = (item.position, item.type, app, actor, time, request_id, canonical(data))
    view = None
    if with_view:
        view = EventView(item.position, item.type, app, actor, event.timestamp, request_id, data)
    return changes, row, view


# -- one handler per event class ------------------------------------------------------------

Handler = Callable[[Any, int, int], list[Change]]


def _app_created(e: App.Created, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "name": e.app,
        "created_at": time,
        "actor": e.actor,
        "env_version": 0,
        "active_release_id": "",
        "promotion_id": "",
        "desired_release_id": "",
        "release_count": 0,
        "latest_release_id": "",
        "deadline_seconds": 0,
        "position": position,
        "auto_promotion_paused": "",
        "archived": 0,
    }
    return [Insert("apps", row)]


def _deadline_changed(e: App.DeadlineChanged, position: int, time: int) -> list[Change]:
    return [Update("apps", (e.app,), {"deadline_seconds": e.deadline_seconds})]


def _promotion_dequeued(e: Promotion.Dequeued, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {"queued": 0, "previous_release_id": e.previous_release_id}
    return [Update("promotions", (e.promotion_id,), values)]


def _env_changed(e: App.EnvChanged, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "app": e.app,
        "env_version": e.env_version,
        "added": to_json(sorted(e.added)),
        "changed": to_json(sorted(e.changed)),
        "removed": to_json(sorted(e.removed)),
        "description": e.description,
        "actor": e.actor,
        "time": time,
        "position": position,
    }
    return [
        Update("apps", (e.app,), {"env_version": e.env_version}),
        Insert("env_changes", row),
    ]


def _release_registered(e: App.ReleaseRegistered, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {
        "release_count": e.release_version,
        "latest_release_id": e.release_id,
    }
    return [Update("apps", (e.app,), values)]


def _promotion_begun(e: App.PromotionBegun, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {"promotion_id": e.promotion_id, "desired_release_id": e.release_id}
    return [Update("apps", (e.app,), values)]


def _release_activated(e: App.ReleaseActivated, position: int, time: int) -> list[Change]:
    activation: dict[str, object] = {
        "position": position,
        "app": e.app,
        "release_id": e.release_id,
        "promotion_id": e.promotion_id,
        "time": time,
    }
    return [
        Update("apps", (e.app,), {"active_release_id": e.release_id}),
        Update("releases", (e.release_id,), {"ever_active": 1, "last_activated_at": time}),
        Insert("activations", activation),
    ]


def _promotion_settled(e: App.PromotionSettled, position: int, time: int) -> list[Change]:
    return [Update("apps", (e.app,), {"promotion_id": "", "desired_release_id": ""})]


def _release_created(e: Release.Created, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "id": e.release_id,
        "app": e.app,
        "version": e.release_version,
        "build_id": e.build_id,
        "image": e.image,
        "env_version": e.env_version,
        "env_keys": to_json(sorted(e.env)),
        "reason": e.reason,
        "parent_id": e.parent_id,
        "description": e.description,
        "actor": e.actor,
        "created_at": time,
        "position": position,
        "ever_active": 0,
        "last_activated_at": None,
    }
    return [Insert("releases", row)]


def _build_created(e: Build.Created, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "id": e.build_id,
        "app": e.app,
        "status": "created",
        "description": e.description,
        "image": e.image,
        "source": e.source,
        "actor": e.actor,
        "created_at": time,
        "position": position,
        "release_id": "",
        "started_at": None,
        "ended_at": None,
        "error": "",
        "images": "{}",
        "git_commit": to_json(e.commit),
    }
    return [Insert("builds", row)]


def _build_started(e: Build.Started, position: int, time: int) -> list[Change]:
    return [Update("builds", (e.build_id,), {"status": "running", "started_at": time})]


def _build_succeeded(e: Build.Succeeded, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {
        "status": "succeeded",
        "image": e.image,
        "release_id": e.release_id,
        "ended_at": time,
        "images": to_json(e.images),
    }
    return [Update("builds", (e.build_id,), values)]


def _build_log_appended(e: Build.LogAppended, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "build_id": e.build_id,
        "seq": e.seq,
        "text": e.text,
        "position": position,
    }
    return [Insert("build_logs", row)]


def _build_failed(e: Build.Failed, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {"status": "failed", "error": e.error, "ended_at": time}
    return [Update("builds", (e.build_id,), values)]


def _promotion_requested(e: Promotion.Created, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "id": e.promotion_id,
        "app": e.app,
        "release_id": e.release_id,
        "previous_release_id": e.previous_release_id,
        "status": "pending",
        "actor": e.actor,
        "description": e.description,
        "deadline_seconds": e.deadline_seconds,
        "created_at": time,
        "position": position,
        "started_at": None,
        "ended_at": None,
        "cause": None,
        "queued": int(e.queued),
    }
    return [Insert("promotions", row)]


def _promotion_started(e: Promotion.Started, position: int, time: int) -> list[Change]:
    return [Update("promotions", (e.promotion_id,), {"status": "running", "started_at": time})]


def _step_recorded(e: Promotion.StepRecorded, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "promotion_id": e.promotion_id,
        "position": position,
        "time": time,
        "kind": e.kind,
        "message": e.message,
    }
    return [Insert("promotion_steps", row)]


def _status(status: str, ended: bool = False) -> Handler:
    def handle(e: Any, position: int, time: int) -> list[Change]:
        values: dict[str, object] = {"status": status}
        if ended:
            values["ended_at"] = time
        return [Update("promotions", (e.promotion_id,), values)]

    return handle


def _promotion_failed(e: Promotion.Failed, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {"status": "failed", "cause": to_json(e.cause)}
    return [Update("promotions", (e.promotion_id,), values)]


def _promotion_cancelled(e: Promotion.Cancelled, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {"status": "cancelled", "cause": to_json(e.cause), "ended_at": time}
    return [Update("promotions", (e.promotion_id,), values)]


def _rack_version_started(e: Rack.VersionStarted, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {"position": position, "version": e.version, "started_at": time}
    return [Insert("rack_releases", row)]


_HANDLERS: dict[type[Any], Handler] = {
    App.Created: _app_created,
    App.DeadlineChanged: _deadline_changed,
    App.EnvChanged: _env_changed,
    App.ReleaseRegistered: _release_registered,
    App.PromotionBegun: _promotion_begun,
    App.ReleaseActivated: _release_activated,
    App.PromotionSettled: _promotion_settled,
    Release.Created: _release_created,
    Build.Created: _build_created,
    Build.Started: _build_started,
    Build.LogAppended: _build_log_appended,
    Build.Succeeded: _build_succeeded,
    Build.Failed: _build_failed,
    Promotion.Created: _promotion_requested,
    Promotion.Dequeued: _promotion_dequeued,
    Promotion.Started: _promotion_started,
    Promotion.StepRecorded: _step_recorded,
    Promotion.Succeeded: _status("succeeded", ended=True),
    Promotion.Failed: _promotion_failed,
    Promotion.RollbackStarted: _status("rolling_back"),
    Promotion.RolledBack: _status("rolled_back", ended=True),
    Promotion.RollbackFailed: _status("rollback_failed", ended=True),
    Promotion.Cancelled: _promotion_cancelled,
    Rack.VersionStarted: _rack_version_started,
    **keys.HANDLERS,
    **workflows.HANDLERS,
    **notifications.HANDLERS,
}
AUDIT_ONLY: frozenset[type[Any]] = frozenset(
    {
        App.PromotionQueued,
        Promotion.CancelRequested,
        Rack.Created,
        Rack.LeafFormatAdopted,
        Rack.LogUpgraded,
        RequestRecord.Created,
    }
    | workflows.AUDIT_ONLY
)
"""Events that change no view table (they still show in the timeline, but RequestRecorded)."""
