"""What a delivery starts: THE rules of which push, pull request or CI result queues a job.

- a push to the workflow's branch queues a deploy job of the pushed commit; pushes to
  other branches, tags and deleted branches start nothing;
- a pull request into the workflow's branch, with review apps on, queues a review job
  when opened, reopened or updated with new commits, and a close job when closed or
  merged; a pull request from a fork starts nothing unless the workflow allows forks
  (its code would run with the workflow's credentials and env);
- a CI result for a commit is recorded on the workflow's jobs of that commit, and wakes
  those waiting for it.

A new job supersedes the jobs of its lane (a branch, a pull request) that have not
started or are waiting for CI, so a newer commit is never blocked behind an older one;
a job already running finishes first. Everything here changes aggregates only; the
use case saves them in one transaction with the delivery's record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.application import LedgerApplication
from ledger.domain import DeliveryRecord, Job, JobKind, JobStatus, Meta, Workflow
from ledger.ids import JOB, new_id
from ledger.workflows.triggers import CheckState, Delivery, PullAction, TriggerKind

SHA = re.compile(r"^[0-9a-f]{40}$")


def is_sha(value: str) -> bool:
    return SHA.fullmatch(value) is not None


@dataclass
class Decided:
    """A delivery's effect: the job queued ('' for none), in words, what changed, and the
    jobs to wake (CI reported on their commit)."""

    job_id: str
    outcome: str
    changed: tuple[Aggregate, ...] = ()
    woken: list[str] = field(default_factory=list)


def decide(
    ledger: LedgerApplication, workflow: Workflow, delivery: Delivery, meta: Meta
) -> Decided:
    if delivery.kind == TriggerKind.PUSH:
        return _push(ledger, workflow, delivery, meta)
    if delivery.kind == TriggerKind.PULL_REQUEST:
        return _pull_request(ledger, workflow, delivery, meta)
    if delivery.kind == TriggerKind.CHECKS:
        return _checks(ledger, workflow, delivery, meta)
    return Decided("", f"ignored: a {delivery.event} event starts nothing")


def record(workflow: Workflow, delivery: Delivery, decided: Decided, meta: Meta) -> DeliveryRecord:
    return DeliveryRecord(
        app="",
        actor=meta.actor,
        request_id=meta.request_id,
        workflow=workflow.name,
        provider=delivery.provider.value,
        delivery_id=delivery.delivery_id,
        hook_event=delivery.event,
        kind=delivery.kind.value,
        ref=delivery.ref,
        sha=delivery.sha,
        pusher=delivery.pusher,
        job_id=decided.job_id,
        outcome=decided.outcome,
    )


def _push(ledger: LedgerApplication, workflow: Workflow, delivery: Delivery, meta: Meta) -> Decided:
    if not delivery.ref.startswith("refs/heads/") or delivery.branch != workflow.settings.branch:
        return Decided(
            "", f"ignored: {delivery.ref or 'no ref'} is not branch {workflow.settings.branch}"
        )
    if delivery.deleted or not is_sha(delivery.sha):
        return Decided("", f"ignored: branch {delivery.branch} was deleted")
    job, changed = queue_deploy(ledger, workflow, delivery, meta)
    return Decided(job.job_id, f"queued job {job.job_id} of {delivery.sha[:12]}", changed)


def queue_deploy(
    ledger: LedgerApplication, workflow: Workflow, delivery: Delivery, meta: Meta
) -> tuple[Job, tuple[Aggregate, ...]]:
    """A deploy job of ``delivery.sha`` to the workflow's apps."""
    lane = f"branch:{delivery.branch}"
    trigger = _trigger(delivery)
    return _queue(
        ledger, workflow, JobKind.DEPLOY, trigger, list(workflow.settings.apps), lane, meta
    )


def _pull_request(
    ledger: LedgerApplication, workflow: Workflow, delivery: Delivery, meta: Meta
) -> Decided:
    settings = workflow.settings
    number = delivery.pull_number
    if not settings.review_apps:
        return Decided("", "ignored: review apps are off for this workflow")
    if delivery.base_ref != settings.branch:
        return Decided("", f"ignored: pull request #{number} is not into {settings.branch}")
    if delivery.fork and not settings.allow_forks:
        return Decided(
            "",
            f"ignored: pull request #{number} is from a fork (no review app "
            "unless the workflow allows forks)",
        )
    if delivery.pull_action == PullAction.CLOSED:
        kind = JobKind.CLOSE_REVIEW
    elif delivery.pull_action == PullAction.OTHER or not is_sha(delivery.sha):
        return Decided("", f"ignored: pull request #{number} changed no code")
    else:
        kind = JobKind.REVIEW
    apps = [review_app(app, number) for app in settings.apps]
    job, changed = _queue(ledger, workflow, kind, _trigger(delivery), apps, f"pull:{number}", meta)
    return Decided(job.job_id, f"queued {kind.value} job {job.job_id} of #{number}", changed)


def review_app(app: str, number: int) -> str:
    return f"{app}-pr-{number}"


def _checks(
    ledger: LedgerApplication, workflow: Workflow, delivery: Delivery, meta: Meta
) -> Decided:
    if delivery.check_state == CheckState.PENDING:
        return Decided("", f"noted: CI is still running on {delivery.sha[:12]}")
    jobs = [ledger.job(job_id) for job_id in workflow.jobs]
    concerned = [job for job in jobs if job.sha == delivery.sha and not job.status.ended]
    for job in concerned:
        job.report_checks(meta, delivery.check_state.value, delivery.provider.value)
    if not concerned:
        return Decided("", f"noted: CI {delivery.check_state} on {delivery.sha[:12]}, no job waits")
    woken = [job.job_id for job in concerned]
    outcome = f"CI {delivery.check_state} on {delivery.sha[:12]} for {', '.join(woken)}"
    return Decided("", outcome, tuple(concerned), woken)


def requeue(
    ledger: LedgerApplication, workflow: Workflow, old: Job, meta: Meta
) -> tuple[Job, tuple[Aggregate, ...]]:
    """A rerun: the same kind, trigger and apps as ``old``, in the same lane."""
    lane = (
        f"pull:{old.trigger.get('pull_number', 0)}"
        if old.kind != JobKind.DEPLOY
        else f"branch:{str(old.trigger.get('ref', '')).removeprefix('refs/heads/')}"
    )
    return _queue(
        ledger,
        workflow,
        old.kind,
        dict(old.trigger),
        list(old.apps),
        lane,
        meta,
        rerun_of=old.job_id,
    )


def _queue(
    ledger: LedgerApplication,
    workflow: Workflow,
    kind: JobKind,
    trigger: dict[str, Any],
    apps: list[str],
    lane: str,
    meta: Meta,
    rerun_of: str = "",
) -> tuple[Job, tuple[Aggregate, ...]]:
    job_id = new_id(JOB)
    job = Job.queue(
        meta,
        job_id=job_id,
        workflow=workflow.name,
        kind=kind,
        trigger=trigger,
        apps=apps,
        rerun_of=rerun_of,
    )
    superseded: list[Job] = []
    for older_id in workflow.queue_job(meta, job_id, lane):
        older = ledger.job(older_id)
        if older.status in (JobStatus.QUEUED, JobStatus.WAITING):
            older.end(meta, JobStatus.SUPERSEDED, f"superseded by job {job_id}", job_id)
            workflow.end_job(meta, older_id)
            superseded.append(older)
    return job, (job, *superseded)


def _trigger(delivery: Delivery) -> dict[str, Any]:
    return {
        "provider": delivery.provider.value,
        "delivery_id": delivery.delivery_id,
        "event": delivery.event,
        "ref": delivery.ref,
        "sha": delivery.sha,
        "pusher": delivery.pusher,
        "repository": delivery.repository,
        "pull_number": delivery.pull_number,
        "message": delivery.commit_message,
        "author": delivery.commit_author,
    }
