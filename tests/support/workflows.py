"""Workflows, jobs and deliveries for tests, recorded straight with the domain's methods.

Each helper loads what it changes, records events and saves them in one transaction, as
a command would; none runs the workflow runner (no git, no runtime), so tests choose
every step and outcome themselves.
"""

from __future__ import annotations

from typing import Any

from ledger.application import LedgerApplication
from ledger.domain import (
    Build,
    DeliveryRecord,
    Hook,
    Job,
    JobKind,
    JobStatus,
    Meta,
    StepStatus,
    Workflow,
    WorkflowSettings,
)
from ledger.ids import BUILD, JOB, new_id
from ledger.manifest import Manifest
from ledger.releasing import release_build

SHA = "0123456789abcdef0123456789abcdef01234567"


def settings(apps: tuple[str, ...] = ("shop",), **changes: Any) -> WorkflowSettings:
    """Settings of a workflow of ``example/shop`` deploying ``apps``, with ``changes``."""
    fields: dict[str, Any] = {
        "repository": "https://git.example/example/shop.git",
        "apps": apps,
        "before_promote": (Hook("web", "rake db:migrate"),),
        **changes,
    }
    return WorkflowSettings(**fields)


def create_workflow(
    ledger: LedgerApplication,
    meta: Meta,
    name: str,
    workflow_settings: WorkflowSettings,
    secret: str = "webhook-secret",
    credentials: str = "",
) -> Workflow:
    """A new workflow, connected to each of its apps (which must exist)."""
    workflow = Workflow.create(meta, name, workflow_settings, secret, credentials)
    apps = [ledger.app(app) for app in workflow_settings.apps]
    for app in apps:
        app.connect_workflow(meta, name)
    ledger.save(workflow, *apps)
    return workflow


def trigger(sha: str = SHA, message: str = "Fix the basket\n\nIt lost items.") -> dict[str, Any]:
    """What a push delivery tells a job (as ``ledger.workflows.triggering`` records it)."""
    return {
        "provider": "github",
        "delivery_id": f"delivery-{sha[:8]}",
        "event": "push",
        "ref": "refs/heads/main",
        "sha": sha,
        "pusher": "bob",
        "repository": "example/shop",
        "pull_number": 0,
        "message": message,
        "author": "Bob <bob@example.com>",
    }


def queue_job(
    ledger: LedgerApplication,
    meta: Meta,
    workflow: str,
    job_trigger: dict[str, Any] | None = None,
    kind: JobKind = JobKind.DEPLOY,
) -> Job:
    """A deploy job of the workflow's apps, queued in its lane (its branch)."""
    found = ledger.workflow(workflow)
    job_id = new_id(JOB)
    job = Job.queue(
        meta,
        job_id=job_id,
        workflow=workflow,
        kind=kind,
        trigger=job_trigger or trigger(),
        apps=list(found.settings.apps),
    )
    found.queue_job(meta, job_id, f"branch:{found.settings.branch}")
    ledger.save(job, found)
    return job


def end_job(
    ledger: LedgerApplication, meta: Meta, job_id: str, status: JobStatus, cause: str = ""
) -> None:
    """End the job and take it off its workflow's jobs in flight."""
    job = ledger.job(job_id)
    workflow = ledger.workflow(job.workflow)
    job.end(meta, status, cause)
    workflow.end_job(meta, job_id)
    ledger.save(job, workflow)


def accept_delivery(
    ledger: LedgerApplication, meta: Meta, workflow: str, delivery_id: str, job_id: str = ""
) -> DeliveryRecord:
    """A push delivery the workflow accepted (queuing ``job_id``, or nothing)."""
    record = DeliveryRecord(
        app="",
        actor=meta.actor,
        request_id=meta.request_id,
        workflow=workflow,
        provider="github",
        delivery_id=delivery_id,
        hook_event="push",
        kind="push",
        ref="refs/heads/main",
        sha=SHA,
        pusher="bob",
        job_id=job_id,
        outcome=f"queued job {job_id}" if job_id else "ignored: not branch main",
    )
    ledger.save(record)
    return record


def record_every_workflow_event(ledger: LedgerApplication, app: str, secret: str) -> None:
    """Every event type of workflows, jobs, deliveries and an app's automation, on the
    existing ``app`` (which ends archived), with ``secret`` wherever a secret goes: the
    review env's values, the webhook secret, the credentials."""
    meta = Meta("alice", request_id="workflow-events-1")
    review = {"REVIEW_TOKEN": secret}
    create_workflow(ledger, meta, "deploy", settings((app,), review_env=review), secret, secret)
    workflow = ledger.workflow("deploy")
    workflow.update(meta, settings((app,), review_env=review, wait_for_ci=True))
    workflow.rotate_secret(meta, secret + "-rotated")
    workflow.change_credentials(meta, secret + "-changed")
    ledger.save(workflow)

    job = queue_job(ledger, meta, "deploy")
    accept_delivery(ledger, meta, "deploy", "d-1", job.job_id)
    job = ledger.job(job.job_id)
    job.start(meta)
    fetch = job.start_step(meta, "fetch", detail=SHA[:12])
    job.end_step(meta, fetch, StepStatus.SUCCEEDED)
    job.wait(meta, "waiting for CI")
    job.report_checks(meta, "success", "github")
    job.start(meta)
    promote = job.start_step(meta, "promote", app=app)
    job.note_promotion(meta, promote, "P0000000001")
    job.end_step(meta, promote, StepStatus.FAILED, "the rollout failed")
    ledger.save(job)
    end_job(ledger, meta, job.job_id, JobStatus.FAILED, "promote failed")

    shop = ledger.app(app)
    shop.pause_auto_promotion(meta, "rolled back by alice")
    shop.resume_auto_promotion(meta, "resumed by alice")
    shop.start_command(meta, "C0000000001", "", "web", "rake db:migrate")
    shop.end_command(meta, "C0000000001", 0)
    shop.disconnect_workflow(meta, "deploy")
    shop.archive(meta, "pull request closed")
    shop.restore(meta, "pull request reopened")
    shop.archive(meta, "pull request closed again")
    ledger.save(shop)
    workflow = ledger.workflow("deploy")
    workflow.delete(meta)
    ledger.save(workflow)


def git_build(
    ledger: LedgerApplication, meta: Meta, app: str, commit: dict[str, str]
) -> tuple[str, str]:
    """A build of ``commit`` (as a workflow's build step records it) that succeeded, and
    its release: (build id, release id)."""
    found = ledger.app(app)
    image = f"{app}:{commit['sha'][:12]}"
    build = Build.create(
        meta,
        app=app,
        build_id=new_id(BUILD),
        description=commit["message"],
        source=f"git:{commit['sha']}",
        image="",
        commit=commit,
    )
    build.start(meta)
    released = release_build(
        found,
        build,
        meta,
        image=image,
        image_id="sha256:" + commit["sha"],
        images={"web": "sha256:" + commit["sha"]},
        manifest=Manifest.default(image).to_dict(),
    )
    ledger.save(*released.changed)
    return build.build_id, released.release.release_id
