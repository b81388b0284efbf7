"""``ledgerctl jobs``: the runs of workflows (one per commit), and following one to its end.

A job is queued by a push, a pull request, a poll or a person (``workflows run``), runs
its steps (fetch, build, CI, before-promote, promote, after-promote, per app) and ends
``succeeded``, ``failed`` or ``superseded``. ``--wait`` follows it, printing each step on
stderr as it changes, and exits 0 only if it succeeded (3 when a promotion failed it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from cli import render
from cli.context import Session
from cli.errors import EXIT_PROMOTION_FAILED, EXIT_REFUSED, CliError
from cli.options import json_option, limit_option, pass_session
from cli.tables import MISSING, clean, elapsed, key_values, short_sha, table, text, when
from ledger_api.v1 import ledger_pb2 as pb

JOB_TERMINAL = frozenset({"succeeded", "failed", "superseded"})
JOB_POLL_INTERVAL = 0.5
JOB_WAIT_LIMIT = 6 * 3600.0  # a job may build, wait for CI and promote several apps


def _none(value: str) -> str | None:
    return value or None


def step_json(step: pb.JobStep) -> dict[str, Any]:
    """One step of a job."""
    return {
        "name": step.name,
        "app": _none(step.app),
        "status": step.status,
        "detail": step.detail,
        "build_id": _none(step.build_id),
        "release_id": _none(step.release_id),
        "promotion_id": _none(step.promotion_id),
    }


def job_json(job: pb.Job) -> dict[str, Any]:
    """A job as ``--json`` shows it (``steps`` is empty in lists: ledgerd sends them with
    one job only)."""
    return {
        "id": job.id,
        "workflow": job.workflow,
        "kind": job.kind,
        "status": job.status,
        "apps": list(job.apps),
        "provider": job.provider,
        "delivery_id": _none(job.delivery_id),
        "ref": job.ref,
        "sha": job.sha,
        "pusher": job.pusher,
        "pull_number": job.pull_number or None,
        "message": job.message,
        "rerun_of": _none(job.rerun_of),
        "cause": job.cause,
        "checks": _none(job.checks),
        "created_at": render.timestamp(job, "created_at"),
        "started_at": render.timestamp(job, "started_at"),
        "ended_at": render.timestamp(job, "ended_at"),
        "steps": [step_json(s) for s in job.steps],
    }


def ref_text(job: pb.Job) -> str:
    """``main``, ``PR #12`` or the ref as given."""
    if job.pull_number:
        return f"PR #{job.pull_number}"
    return job.ref.removeprefix("refs/heads/") or MISSING


def jobs_table(jobs: Sequence[pb.Job]) -> str:
    """``ID WORKFLOW KIND STATUS REF COMMIT CREATED ELAPSED MESSAGE``, newest first."""
    rows = [
        [
            j.id,
            j.workflow,
            j.kind,
            j.status,
            ref_text(j),
            short_sha(j.sha),
            when(j, "created_at"),
            elapsed(j, "started_at", "ended_at"),
            j.message or j.cause,
        ]
        for j in jobs
    ]
    headers = ["ID", "WORKFLOW", "KIND", "STATUS", "REF", "COMMIT", "CREATED", "ELAPSED", "MESSAGE"]
    return table(headers, rows)


def job_block(job: pb.Job) -> str:
    """A job as key/value lines, then its steps."""
    pairs = [
        ("Id", job.id),
        ("Workflow", job.workflow),
        ("Kind", job.kind),
        ("Status", job.status),
        ("Cause", text(job.cause)),
        ("Apps", ", ".join(job.apps) or MISSING),
        ("Ref", ref_text(job)),
        ("Commit", text(job.sha)),
        ("Message", text(job.message)),
        ("Pusher", text(job.pusher)),
        ("Checks", text(job.checks)),
        ("Trigger", " ".join(filter(None, [job.provider, job.delivery_id])) or MISSING),
        ("Rerun of", text(job.rerun_of)),
        ("Actor", text(job.actor)),
        ("Created", when(job, "created_at")),
        ("Started", when(job, "started_at")),
        ("Ended", when(job, "ended_at")),
        ("Elapsed", elapsed(job, "started_at", "ended_at")),
    ]
    block = key_values(pairs)
    if job.steps:
        rows = [
            [
                s.name,
                text(s.app),
                s.status,
                text(s.build_id),
                text(s.release_id),
                text(s.promotion_id),
                s.detail,
            ]
            for s in job.steps
        ]
        headers = ["STEP", "APP", "STATUS", "BUILD", "RELEASE", "PROMOTION", "DETAIL"]
        block += "\n\n" + table(headers, rows)
    return block


def step_line(step: pb.JobStep) -> str:
    """One progress line: ``build  shop  running  building 3f2a9c1``."""
    return clean("  ".join(filter(None, [step.name, step.app, step.status, step.detail])))


def follow_job(session: Session, job: pb.Job) -> pb.Job:
    """Poll ``job`` until it ends, printing on stderr each step whose status or detail
    changed and each change of the job's status (its cause is :func:`check_job`'s to
    tell). Returns the final job."""
    seen: dict[tuple[int, str, str], tuple[str, str]] = {}
    status = ""
    give_up_at = session.clock() + JOB_WAIT_LIMIT
    current = job
    while True:
        for index, step in enumerate(current.steps):
            key = (index, step.name, step.app)
            if seen.get(key) != (step.status, step.detail):
                seen[key] = (step.status, step.detail)
                session.err(step_line(step))
        if current.status != status:
            status = current.status
            session.err(f"job {current.id} {status}")
        if current.status in JOB_TERMINAL:
            return current
        if session.clock() >= give_up_at:
            raise CliError(
                f"job {current.id} is still {current.status} after waiting "
                f"{JOB_WAIT_LIMIT:.0f}s; stopped waiting (it goes on in ledgerd)"
            )
        session.sleep(JOB_POLL_INTERVAL)
        current = session.client.get_job(current.id)


def check_job(job: pb.Job) -> None:
    """Raise unless the job succeeded: exit 3 when a promotion failed it, else 1."""
    if job.status == "succeeded":
        return
    failed = [s for s in job.steps if s.status == "failed"]
    code = EXIT_PROMOTION_FAILED if any(s.name == "promote" for s in failed) else EXIT_REFUSED
    reason = job.cause or (failed[-1].detail if failed else "") or "no reason given"
    raise CliError(f"job {job.id} {job.status}: {reason}", code)


def started(session: Session, job: pb.Job, wait: bool) -> None:
    """Print a job just started: its id on stdout (the job as JSON with --json, at the end);
    with ``wait``, follow it and fail unless it succeeded."""
    if not session.json:
        session.out(job.id)
    if wait:
        job = follow_job(session, job)
    if session.json:
        session.out(render.dumps(job_json(job)))
    if wait:
        check_job(job)


@click.group("jobs", invoke_without_command=True)
@json_option
@limit_option()
@pass_session
def jobs(session: Session, limit: int) -> None:
    """List the jobs of every workflow this key may read (newest first), or act on one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    list_jobs(session, "", limit)


def list_jobs(session: Session, workflow: str, limit: int) -> None:
    """The jobs of ``workflow`` (empty: of all), newest first."""
    items = session.client.list_jobs(workflow, limit)
    session.emit([job_json(j) for j in items], lambda: jobs_table(items))


@jobs.command("info")
@json_option
@click.argument("job_id", metavar="JOB")
@pass_session
def jobs_info(session: Session, job_id: str) -> None:
    """Show JOB: its trigger, status and cause, and every step with its build, release and
    promotion."""
    job = session.client.get_job(job_id)
    session.emit(job_json(job), lambda: job_block(job))


@jobs.command("rerun")
@json_option
@click.argument("job_id", metavar="JOB")
@click.option(
    "--wait", is_flag=True, help="Follow the new job to its end; exit 0 only if it succeeded."
)
@pass_session
def jobs_rerun(session: Session, job_id: str, wait: bool) -> None:
    """Run JOB again (same commit) as a new job; print the new job's id."""
    started(session, session.client.rerun_job(job_id), wait)
