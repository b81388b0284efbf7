"""``ledgerctl workflows``: a repository and branch that build and deploy apps by itself.

A workflow deploys its apps on every push to its branch (webhooks from the git host, or
polling), runs commands before and after promoting, and can give each pull request a
review app. Its webhook secret is printed once, by ``create`` and ``rotate-secret``:
ledgerd stores it encrypted and never shows it again.
"""

from __future__ import annotations

from typing import Any

import click

from cli import render
from cli.commands.jobs import job_json, jobs_table, list_jobs, started
from cli.commands.workflow_settings import (
    changed_settings,
    new_settings,
    read_credentials,
    settings_options,
)
from cli.context import Session
from cli.errors import CliError
from cli.options import json_option, limit_option, pass_session
from cli.tables import MISSING, duration_text, key_values, table, text, when
from ledger_api.v1 import ledger_pb2 as pb

LATEST_JOBS = 5
ONCE = (
    "save this secret now, it is not shown again: give it to the git host with the webhook "
    "URL; if it is lost, make a new one with `ledgerctl workflows rotate-secret {name}`"
)


def workflow_json(workflow: pb.Workflow) -> dict[str, Any]:
    """A workflow as ``--json`` shows it (review env keys only: the values are secrets)."""
    s = workflow.settings
    return {
        "name": workflow.name,
        "repository": s.repository,
        "branch": s.branch,
        "apps": list(s.apps),
        "promote": s.promote,
        "before_promote": list(s.before_promote),
        "after_promote": list(s.after_promote),
        "review_apps": s.review_apps,
        "review_env_keys": sorted(s.review_env),
        "wait_for_ci": s.wait_for_ci,
        "poll_seconds": s.poll_seconds,
        "allow_forks": s.allow_forks,
        "has_credentials": workflow.has_credentials,
        "webhook_url": workflow.webhook_url or None,
        "paused": [{"app": p.app, "reason": p.reason} for p in workflow.paused],
        "created_at": render.timestamp(workflow, "created_at"),
        "updated_at": render.timestamp(workflow, "updated_at"),
        "actor": workflow.actor,
    }


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _poll(seconds: int) -> str:
    return f"every {duration_text(seconds)}" if seconds else "off (webhooks only)"


def workflows_table(workflows: list[pb.Workflow]) -> str:
    """``NAME REPOSITORY BRANCH APPS PROMOTE POLL PAUSED``."""
    rows = [
        [
            w.name,
            w.settings.repository,
            w.settings.branch,
            ", ".join(w.settings.apps),
            w.settings.promote,
            duration_text(w.settings.poll_seconds) if w.settings.poll_seconds else MISSING,
            ", ".join(p.app for p in w.paused) or MISSING,
        ]
        for w in workflows
    ]
    headers = ["NAME", "REPOSITORY", "BRANCH", "APPS", "PROMOTE", "POLL", "PAUSED"]
    return table(headers, rows)


def workflow_block(w: pb.Workflow) -> str:
    """A workflow's settings as key/value lines, then its apps whose promotion is paused."""
    s = w.settings
    review = _yes(s.review_apps) + (" (pull requests from forks too)" if s.allow_forks else "")
    pairs = [
        ("Name", w.name),
        ("Repository", s.repository),
        ("Branch", s.branch),
        ("Apps", ", ".join(s.apps) or MISSING),
        ("Promote", s.promote),
        ("Before promote", "; ".join(s.before_promote) or MISSING),
        ("After promote", "; ".join(s.after_promote) or MISSING),
        ("Review apps", review),
        ("Review env", ", ".join(sorted(s.review_env)) or MISSING),
        ("Wait for CI", _yes(s.wait_for_ci)),
        ("Poll", _poll(s.poll_seconds)),
        ("Credentials", _yes(w.has_credentials)),
        ("Webhook URL", text(w.webhook_url)),
        ("Created", when(w, "created_at")),
        ("Updated", when(w, "updated_at")),
        ("Actor", text(w.actor)),
    ]
    block = key_values(pairs)
    if w.paused:
        rows = [[p.app, p.reason] for p in w.paused]
        block += "\n\nAutomatic promotion paused\n" + table(["APP", "REASON"], rows)
    return block


def _print_secret(session: Session, created: pb.WorkflowSecret, verb: str) -> None:
    workflow = created.workflow
    if not created.secret:
        raise CliError(
            f"workflow {workflow.name} was {verb} but its secret was lost with the first "
            f"answer: make a new one (ledgerctl workflows rotate-secret {workflow.name})"
        )
    url = workflow.webhook_url or None
    data = {"workflow": workflow_json(workflow), "secret": created.secret, "webhook_url": url}
    pairs = [("Webhook URL", url or MISSING), ("Secret", created.secret)]
    session.emit(data, lambda: f"{verb} workflow {workflow.name}\n" + key_values(pairs))
    session.err("warning: " + ONCE.format(name=workflow.name))


@click.group("workflows", invoke_without_command=True)
@json_option
@limit_option()
@pass_session
def workflows(session: Session, limit: int) -> None:
    """List workflows (of the apps this key may read), or create, change or run one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    items = session.client.list_workflows(limit)
    session.emit([workflow_json(w) for w in items], lambda: workflows_table(items))


@workflows.command("create")
@json_option
@click.argument("name")
@settings_options
@pass_session
def workflows_create(session: Session, /, name: str, **options: Any) -> None:
    """Create the workflow NAME deploying --app APP… from --repo URL; print its webhook
    URL and its secret, once."""
    settings = new_settings(options)
    credentials = read_credentials() if options["credentials_stdin"] else ""
    _print_secret(session, session.client.create_workflow(name, settings, credentials), "created")


@workflows.command("info")
@json_option
@click.argument("name")
@pass_session
def workflows_info(session: Session, name: str) -> None:
    """Show the workflow NAME: settings, webhook URL, paused apps and the latest jobs."""
    workflow = session.client.get_workflow(name)
    latest = session.client.list_jobs(name, LATEST_JOBS)
    data = workflow_json(workflow)
    data["jobs"] = [job_json(j) for j in latest]

    def human() -> str:
        jobs = jobs_table(latest) if latest else "none yet"
        return workflow_block(workflow) + "\n\nLatest jobs\n" + jobs

    session.emit(data, human)


@workflows.command("update")
@json_option
@click.argument("name")
@settings_options
@click.option("--no-credentials", is_flag=True, help="Remove the repository's credentials.")
@pass_session
def workflows_update(session: Session, /, name: str, no_credentials: bool, **options: Any) -> None:
    """Change the settings of the workflow NAME: only those given change (--app and
    --review-env give the whole new list)."""
    if options["credentials_stdin"] and no_credentials:
        raise click.UsageError("--credentials-stdin or --no-credentials, not both")
    settings, fields = changed_settings(options)
    request = pb.UpdateWorkflowRequest(name=name, settings=settings, update_fields=fields)
    if options["credentials_stdin"] or no_credentials:
        request.change_credentials = True
        request.credentials = read_credentials() if options["credentials_stdin"] else ""
    if not (fields or request.change_credentials):
        raise click.UsageError("nothing to change: give the settings to change")
    workflow = session.client.update_workflow(request)
    session.emit(workflow_json(workflow), lambda: f"updated workflow {workflow.name}")


@workflows.command("delete")
@json_option
@click.argument("name")
@pass_session
def workflows_delete(session: Session, name: str) -> None:
    """Delete the workflow NAME: its webhooks are refused from now on; its jobs, builds
    and releases stay in the history."""
    workflow = session.client.delete_workflow(name)
    session.emit(workflow_json(workflow), lambda: f"deleted workflow {workflow.name}")


@workflows.command("rotate-secret")
@json_option
@click.argument("name")
@pass_session
def workflows_rotate_secret(session: Session, name: str) -> None:
    """Give the workflow NAME a new webhook secret, printed once (the old one stops working)."""
    _print_secret(session, session.client.rotate_workflow_secret(name), "rotated the secret of")


@workflows.command("resume")
@json_option
@click.argument("name")
@click.option("--app", "app", default="", metavar="APP", help="Only this app (default: all).")
@pass_session
def workflows_resume(session: Session, name: str, app: str) -> None:
    """Resume automatic promotion of the workflow's apps (paused after a rollback or a
    failed promotion)."""
    workflow = session.client.resume_workflow(name, app)
    still = ", ".join(p.app for p in workflow.paused)

    def human() -> str:
        line = f"resumed automatic promotion of {app or 'the apps'} of workflow {workflow.name}"
        return line + (f" (still paused: {still})" if still else "")

    session.emit(workflow_json(workflow), human)


@workflows.command("run")
@json_option
@click.argument("name")
@click.option("--branch", default="", metavar="BRANCH", help="Deploy BRANCH's head.")
@click.option("--commit", default="", metavar="SHA", help="Deploy this commit (a full sha).")
@click.option(
    "--wait", is_flag=True, help="Follow the job to its end; exit 0 only if it succeeded."
)
@pass_session
def workflows_run(session: Session, name: str, branch: str, commit: str, wait: bool) -> None:
    """Start a job of the workflow NAME now (default: its branch's head); print its id."""
    if branch and commit:
        raise click.UsageError("--branch or --commit, not both")
    started(session, session.client.run_workflow(name, branch=branch, commit=commit), wait)


@workflows.command("jobs")
@json_option
@click.argument("name", required=False, default="")
@limit_option()
@pass_session
def workflows_jobs(session: Session, name: str, limit: int) -> None:
    """List the jobs of the workflow NAME (default: of every workflow), newest first."""
    list_jobs(session, name, limit)
