"""Workflows, their jobs and the deliveries they accepted, projected; an app's automation.

Like :mod:`projections.keys`, the handlers of one family of events, registered in the
projector's table through :data:`HANDLERS`. The tables are in
:mod:`projections.workflow_sql`; the queries over them, and the functions that turn their
rows into views, in :mod:`projections.workflow_queries`.

No row holds a workflow's webhook secret, its credentials (``has_credentials`` says
whether it has any) or a review env value (``review_env_keys``: the keys only). A job's
steps are rows of ``job_steps``, inserted when a step starts and updated when it ends or
progresses, with the same values the aggregate's ``steps`` list gets: each handler sets
constants from its one event, so a rebuild yields the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.domain import App, DeliveryRecord, Job, JobStatus, Workflow, WorkflowSettings
from ledger.domain.job import StepStatus
from projections.audit import to_json
from projections.changes import Change, Insert, Update

MAX_MESSAGE = 200  # a job keeps the first line of its commit's message, cut to this


def _settings(settings: dict[str, Any]) -> dict[str, object]:
    """The columns of a workflow's settings (recorded whole by Created and Updated)."""
    parsed = WorkflowSettings.from_dict(settings, {})
    return {
        "repository": parsed.repository,
        "branch": parsed.branch,
        "apps": to_json(list(parsed.apps)),
        "promote": parsed.promote.value,
        "before_promote": to_json([str(hook) for hook in parsed.before_promote]),
        "after_promote": to_json([str(hook) for hook in parsed.after_promote]),
        "review_apps": int(parsed.review_apps),
        "wait_for_ci": int(parsed.wait_for_ci),
        "poll_seconds": parsed.poll_seconds,
        "allow_forks": int(parsed.allow_forks),
    }


def _workflow_created(e: Workflow.Created, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "name": e.name,
        **_settings(e.settings),
        "review_env_keys": to_json(sorted(e.review_env)),
        "has_credentials": int(bool(e.credentials)),
        "actor": e.actor,
        "created_at": time,
        "updated_at": time,
        "position": position,
        "deleted": 0,
    }
    return [Insert("workflows", row)]


def _workflow_updated(e: Workflow.Updated, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {
        **_settings(e.settings),
        "review_env_keys": to_json(sorted(e.review_env)),
        "updated_at": time,
    }
    return [Update("workflows", (e.name,), values)]


def _secret_rotated(e: Workflow.SecretRotated, position: int, time: int) -> list[Change]:
    return [Update("workflows", (e.name,), {"updated_at": time})]


def _credentials_changed(e: Workflow.CredentialsChanged, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {"has_credentials": int(bool(e.credentials)), "updated_at": time}
    return [Update("workflows", (e.name,), values)]


def _workflow_deleted(e: Workflow.Deleted, position: int, time: int) -> list[Change]:
    return [Update("workflows", (e.name,), {"deleted": 1, "updated_at": time})]


def first_line(message: str) -> str:
    """The first line of a commit message, at most :data:`MAX_MESSAGE` characters."""
    lines = message.strip().splitlines()
    return lines[0][:MAX_MESSAGE] if lines else ""


def _job_queued(e: Job.Created, position: int, time: int) -> list[Change]:
    trigger = e.trigger
    row: dict[str, object] = {
        "id": e.job_id,
        "workflow": e.workflow,
        "kind": e.kind,
        "status": JobStatus.QUEUED.value,
        "apps": to_json(list(e.apps)),
        "provider": str(trigger.get("provider", "")),
        "delivery_id": str(trigger.get("delivery_id", "")),
        "ref": str(trigger.get("ref", "")),
        "sha": str(trigger.get("sha", "")),
        "pusher": str(trigger.get("pusher", "")),
        "pull_number": int(trigger.get("pull_number") or 0),
        "message": first_line(str(trigger.get("message") or "")),
        "rerun_of": e.rerun_of,
        "cause": "",
        "checks": "",
        "actor": e.actor,
        "created_at": time,
        "position": position,
        "started_at": None,
        "ended_at": None,
    }
    return [Insert("jobs", row)]


def _job_started(e: Job.Started, position: int, time: int) -> list[Change]:
    """Running (again, after waiting for CI): ``started_at`` is when it last started."""
    values: dict[str, object] = {"status": JobStatus.RUNNING.value, "started_at": time}
    return [Update("jobs", (e.job_id,), values)]


def _job_waiting(e: Job.Waiting, position: int, time: int) -> list[Change]:
    return [Update("jobs", (e.job_id,), {"status": JobStatus.WAITING.value})]


def _checks_reported(e: Job.ChecksReported, position: int, time: int) -> list[Change]:
    return [Update("jobs", (e.job_id,), {"checks": e.state})]


def _job_ended(e: Job.Ended, position: int, time: int) -> list[Change]:
    values: dict[str, object] = {"status": e.status, "cause": e.cause, "ended_at": time}
    return [Update("jobs", (e.job_id,), values)]


def _step_started(e: Job.StepStarted, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "job_id": e.job_id,
        "idx": e.index,
        "name": e.name,
        "app": e.app,
        "status": StepStatus.RUNNING.value,
        "detail": e.detail,
        "build_id": e.build_id,
        "release_id": "",
        "promotion_id": "",
    }
    return [Insert("job_steps", row)]


def _step_ended(e: Job.StepEnded, position: int, time: int) -> list[Change]:
    """As ``Job.StepEnded.apply``: an empty detail, release or promotion keeps the old."""
    values: dict[str, object] = {"status": e.status}
    if e.detail:
        values["detail"] = e.detail
    if e.release_id:
        values["release_id"] = e.release_id
    if e.promotion_id:
        values["promotion_id"] = e.promotion_id
    return [Update("job_steps", (e.job_id, e.index), values)]


def _step_progressed(e: Job.StepProgressed, position: int, time: int) -> list[Change]:
    return [Update("job_steps", (e.job_id, e.index), {"promotion_id": e.promotion_id})]


def _delivery_accepted(e: DeliveryRecord.Created, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "position": position,
        "workflow": e.workflow,
        "provider": e.provider,
        "delivery_id": e.delivery_id,
        "event": e.hook_event,
        "kind": e.kind,
        "ref": e.ref,
        "sha": e.sha,
        "pusher": e.pusher,
        "job_id": e.job_id,
        "outcome": e.outcome,
        "time": time,
    }
    return [Insert("deliveries", row)]


def _connection(connected: bool) -> Callable[[Any, int, int], list[Change]]:
    def handle(e: Any, position: int, time: int) -> list[Change]:
        row: dict[str, object] = {
            "position": position,
            "app": e.app,
            "workflow": e.workflow,
            "connected": int(connected),
        }
        return [Insert("app_workflows", row)]

    return handle


def _paused(e: App.AutoPromotionPaused, position: int, time: int) -> list[Change]:
    return [Update("apps", (e.app,), {"auto_promotion_paused": e.reason})]


def _resumed(e: App.AutoPromotionResumed, position: int, time: int) -> list[Change]:
    return [Update("apps", (e.app,), {"auto_promotion_paused": ""})]


def _archived(e: App.Archived, position: int, time: int) -> list[Change]:
    return [Update("apps", (e.app,), {"archived": 1})]


def _restored(e: App.Restored, position: int, time: int) -> list[Change]:
    return [Update("apps", (e.app,), {"archived": 0})]


HANDLERS: dict[type[Any], Callable[[Any, int, int], list[Change]]] = {
    Workflow.Created: _workflow_created,
    Workflow.Updated: _workflow_updated,
    Workflow.SecretRotated: _secret_rotated,
    Workflow.CredentialsChanged: _credentials_changed,
    Workflow.Deleted: _workflow_deleted,
    Job.Created: _job_queued,
    Job.Started: _job_started,
    Job.StepStarted: _step_started,
    Job.StepEnded: _step_ended,
    Job.StepProgressed: _step_progressed,
    Job.ChecksReported: _checks_reported,
    Job.Waiting: _job_waiting,
    Job.Ended: _job_ended,
    DeliveryRecord.Created: _delivery_accepted,
    # The App's classes (the mapper decodes to them), not the Automation mixin's.
    App.WorkflowConnected: _connection(True),
    App.WorkflowDisconnected: _connection(False),
    App.AutoPromotionPaused: _paused,
    App.AutoPromotionResumed: _resumed,
    App.Archived: _archived,
    App.Restored: _restored,
}
AUDIT_ONLY: frozenset[type[Any]] = frozenset(
    {Workflow.JobQueued, Workflow.JobEnded, App.CommandStarted, App.CommandEnded}
)
"""The workflow's own bookkeeping of its jobs (the jobs table has them) and one-off commands:
shown in the timeline only."""
