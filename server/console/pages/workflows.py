"""The Workflows tab: the workflows a key may see, creating one (its webhook secret shown
once), and a workflow's page (settings, webhook, paused apps, its jobs, live).

Reads are the read side's (``Queries.visible_workflows``, ``workflow``, ``paused_apps``,
``visible_jobs``); creating runs the use case ``CreateWorkflow`` runs
(:class:`~ledger.workflows.service.WorkflowService`). The policy decides as for the API:
a workflow is seen by keys that may ``read`` any of its apps; creating (like deleting and
rotating its secret, :mod:`~server.console.pages.workflow_actions`) needs
``manage_workflows`` on every app it deploys, checked before anything is recorded.

The webhook secret is shown exactly once, in the body of the answer to the POST that
created it (``Cache-Control: no-store``), never in a URL or a redirect, never afterwards:
the read model does not have it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger import policy
from ledger.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ledger.policy import Action, Principal
from ledger.queries import Queries
from ledger.views import EventView, JobView, WorkflowView
from ledger.workflows.commands import CreateWorkflow
from server.backend import meta_of
from server.console.context import Console
from server.console.errors import status_of
from server.console.pages.common import form, query_number, render_page, signed_in
from server.console.pages.live import sse, stream
from server.console.pages.workflow_form import WorkflowDraft

PAGE_SIZE = 50
JOBS_PAGE_SIZE = 25
WATCHED_JOBS = 50  # recent jobs whose events a workflow's page follows from the start
REFUSALS = (InvalidArgument, AlreadyExists, NotFound, FailedPrecondition)
"""Creations refused for what the form says: shown again with what was typed."""


@dataclass(frozen=True)
class WorkflowRow:
    """One line of the workflows list."""

    workflow: WorkflowView
    paused: list[tuple[str, str]]  # (app, why its automatic promotion is paused)
    latest: JobView | None


def may_all(principal: Principal, action: Action, apps: Iterable[str]) -> bool:
    """Whether ``principal`` may take ``action`` on every one of ``apps``."""
    return all(Console.may(principal, action, app) for app in apps)


def allow_all(principal: Principal, action: Action, apps: Iterable[str]) -> None:
    """Admit ``action`` on every one of ``apps`` (PermissionDenied naming the first not)."""
    for app in apps:
        Console.allow(principal, action, app)


def allow_read(principal: Principal, apps: tuple[str, ...]) -> None:
    """Admit reading a workflow or job: the key may read one of its apps at least."""
    if not any(Console.may(principal, Action.READ, app) for app in apps):
        Console.allow(principal, Action.READ, apps[0] if apps else "")


async def workflow_of(console: Console, principal: Principal, name: str) -> WorkflowView:
    """The live workflow named in the URL, if the key may see it."""
    policy.check_granted(principal, Action.READ)
    view: WorkflowView = await console.run(console.queries.workflow, name)
    allow_read(principal, view.apps)
    return view


def rows(queries: Queries, principal: Principal, after: str) -> tuple[list[WorkflowRow], str]:
    """Blocking: a page of the workflows the key may see, and the cursor of the next."""
    found = queries.visible_workflows(principal, after, PAGE_SIZE + 1)
    shown = found[:PAGE_SIZE]
    result = []
    for view in shown:
        latest = queries.visible_jobs(principal, view.name, 0, 1)
        result.append(WorkflowRow(view, queries.paused_apps(view), latest[0] if latest else None))
    return result, shown[-1].name if len(found) > PAGE_SIZE and shown else ""


async def workflows_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    console.allow(principal, Action.LIST_APPS)
    found, more = await console.run(
        rows, console.queries, principal, request.query_params.get("after", "")
    )
    context = {
        "rows": found,
        "more": more,
        "may_create": policy.grants(principal, Action.MANAGE_WORKFLOWS),
    }
    regions = {"workflows-table": "_workflows_table.html"}
    return render_page(console, request, "workflows.html", context, principal, regions)


async def new_workflow_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    policy.check_granted(principal, Action.MANAGE_WORKFLOWS)
    context = {"draft": WorkflowDraft.empty(), "error": ""}
    return console.render(request, "workflow_new.html", context, principal=principal)


async def create_workflow(request: Request) -> Response:
    """Create a workflow as CreateWorkflow does; answer with its webhook secret (once)."""
    console, principal = await signed_in(request)
    # A key that may manage no workflow is refused before the form is even read.
    policy.check_granted(principal, Action.MANAGE_WORKFLOWS)
    values = await form(request)
    draft = WorkflowDraft.of(values)
    name = draft.get("name").strip()
    try:
        settings = draft.settings()
        # Every app it would deploy, checked before anything is recorded (as the API).
        allow_all(principal, Action.MANAGE_WORKFLOWS, settings.apps)
        command = CreateWorkflow(name, settings, values.get("credentials", "").strip())
        meta = meta_of(principal, values.get("request_id", ""))
        workflows = console.backend.container.workflows
        created = await console.run(workflows.create, command, meta)
    except REFUSALS as error:
        context = {"draft": draft, "error": str(error)}
        response = console.render(
            request, "workflow_new.html", context, status_of(error), principal
        )
        response.headers["Cache-Control"] = "no-store"  # the review env may hold secrets
        return response
    await console.backend.caught_up(created.position)
    return await secret_page(console, request, principal, name, created.secret, "created")


async def secret_page(
    console: Console, request: Request, principal: Principal, name: str, secret: str, done: str
) -> Response:
    """The answer to a create or a rotation: the webhook and its secret, this once only
    (``secret`` is '' when the form was sent before: the secret went to that answer)."""
    view = await console.run(console.queries.workflow, name)
    context = {
        "workflow": view,
        "secret": secret,
        "done": done,
        "url": console.backend.hook_url(name),
    }
    response = console.render(request, "workflow_secret.html", context, principal=principal)
    response.headers["Cache-Control"] = "no-store"  # the secret stays out of every cache
    return response


async def workflow_page(request: Request) -> Response:
    """A workflow's settings, webhook, paused apps and jobs (``?before=``: older jobs)."""
    console, principal = await signed_in(request)
    view = await workflow_of(console, principal, request.path_params["name"])
    before = query_number(request.query_params, "before")
    queries = console.queries

    def load() -> tuple[list[tuple[str, str]], list[JobView]]:
        jobs = queries.visible_jobs(principal, view.name, before, JOBS_PAGE_SIZE + 1)
        return queries.paused_apps(view), jobs

    paused, jobs = await console.run(load)
    shown = jobs[:JOBS_PAGE_SIZE]
    context = {
        "workflow": view,
        "url": console.backend.hook_url(view.name),
        "paused": paused,
        "jobs": shown,
        "before": before,
        "older": shown[-1].position if len(jobs) > JOBS_PAGE_SIZE and shown else 0,
        "may_manage": may_all(principal, Action.MANAGE_WORKFLOWS, view.apps),
        "may_run": may_all(principal, Action.BUILD, view.apps),
    }
    regions = {"workflow-paused": "_workflow_paused.html", "workflow-jobs": "_workflow_jobs.html"}
    return render_page(console, request, "workflow.html", context, principal, regions)


async def workflow_live(request: Request) -> Response:
    """Events that concern the workflow: those of the apps it deploys (that the key may
    read), its own, and those of its jobs (a job of several apps records its start and
    end under none)."""
    console, principal = await signed_in(request)
    view = await workflow_of(console, principal, request.path_params["name"])
    apps = {app for app in view.apps if console.may(principal, Action.READ, app)}
    recent = await console.run(console.queries.visible_jobs, principal, view.name, 0, WATCHED_JOBS)
    jobs = {job.id for job in recent}

    def relevant(event: EventView) -> bool:
        if event.type == "JobQueued" and event.data.get("workflow") == view.name:
            jobs.add(str(event.data.get("job_id", "")))
            return True
        if event.app:
            return event.app in apps
        if event.type == "Overflowed" or event.data.get("job_id") in jobs:
            return True
        return event.data.get("name") == view.name or event.data.get("workflow") == view.name

    return sse(stream(console, request, "", relevant))


routes: list[BaseRoute] = [
    Route("/workflows", workflows_page, methods=["GET"]),
    Route("/workflows", create_workflow, methods=["POST"]),
    # Before /workflows/{name}: the form's URL (a workflow named "new" is shown by the API).
    Route("/workflows/new", new_workflow_page, methods=["GET"]),
    Route("/workflows/{name}", workflow_page, methods=["GET"]),
    Route("/workflows/{name}/live", workflow_live, methods=["GET"]),
]
