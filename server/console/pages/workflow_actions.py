"""What can be done to a workflow from its page (and from an app's): resume automatic
promotion, run it now, rotate its webhook secret, delete it (after a confirmation).

Each is the use case of the equivalent RPC (:class:`~ledger.workflows.service.WorkflowService`)
admitted by that RPC's rule: ``promote`` on the app resumed (on every app of the workflow
when none is named), ``build`` on every app to run, ``manage_workflows`` on every app to
rotate the secret or delete. Buttons are hidden from keys that may not use them; a forged
form is refused here all the same, before anything is read or recorded.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger.errors import FailedPrecondition
from ledger.ids import check_app_name
from ledger.policy import Action
from ledger.workflows.commands import ResumeWorkflow, RunWorkflow
from ledger.workflows.settings import check_workflow_name
from server.backend import meta_of
from server.console.pages.common import app_header, form, signed_in
from server.console.pages.session import safe_next
from server.console.pages.workflows import allow_all, secret_page, workflow_of


async def resume(request: Request) -> Response:
    """Resume automatic promotion of one app of the workflow (``app``), or of all."""
    console, principal = await signed_in(request)
    name = check_workflow_name(request.path_params["name"])
    values = await form(request)
    app = values.get("app", "").strip()
    if app:
        console.allow(principal, Action.PROMOTE, check_app_name(app))
    view = await workflow_of(console, principal, name)
    if not app:
        allow_all(principal, Action.PROMOTE, view.apps)
    service = console.backend.container.workflows
    command = ResumeWorkflow(name, app)
    await console.execute(principal, service.resume, command, values.get("request_id", ""))
    return RedirectResponse(f"/workflows/{name}", status_code=303)


async def resume_app(request: Request) -> Response:
    """The app page's Resume button: resume the app's automatic promotion through (the
    first of) the workflows that deploy it, then go back to the page it was pressed on."""
    console, principal = await signed_in(request)
    app = check_app_name(request.path_params["app"])
    console.allow(principal, Action.PROMOTE, app)
    values = await form(request)
    header = await app_header(console, principal, app)
    if not header.app.workflows:
        raise FailedPrecondition(f"no workflow deploys {app}: nothing to resume")
    service = console.backend.container.workflows
    command = ResumeWorkflow(header.app.workflows[0], app)
    await console.execute(principal, service.resume, command, values.get("request_id", ""))
    back = safe_next(values.get("next", ""))
    if not back.startswith(f"/apps/{app}/"):
        back = f"/apps/{app}/releases"
    return RedirectResponse(back, status_code=303)


async def run(request: Request) -> Response:
    """Run the workflow on the head of its branch now; show the job it started."""
    console, principal = await signed_in(request)
    view = await workflow_of(console, principal, request.path_params["name"])
    allow_all(principal, Action.BUILD, view.apps)
    values = await form(request)
    service = console.backend.container.workflows
    command = RunWorkflow(view.name)
    outcome = await console.execute(principal, service.run, command, values.get("request_id", ""))
    return RedirectResponse(f"/jobs/{outcome.job_id}", status_code=303)


async def rotate_secret(request: Request) -> Response:
    """A new webhook secret, shown in this answer only (the old one stops working)."""
    console, principal = await signed_in(request)
    view = await workflow_of(console, principal, request.path_params["name"])
    allow_all(principal, Action.MANAGE_WORKFLOWS, view.apps)
    values = await form(request)
    meta = meta_of(principal, values.get("request_id", ""))
    service = console.backend.container.workflows
    rotated = await console.run(service.rotate_secret, view.name, meta)
    await console.backend.caught_up(rotated.position)
    return await secret_page(console, request, principal, view.name, rotated.secret, "rotated")


async def confirm_delete_page(request: Request) -> Response:
    """What deleting the workflow does, before it is done."""
    console, principal = await signed_in(request)
    view = await workflow_of(console, principal, request.path_params["name"])
    allow_all(principal, Action.MANAGE_WORKFLOWS, view.apps)
    context = {"workflow": view}
    return console.render(request, "workflow_delete.html", context, principal=principal)


async def delete(request: Request) -> Response:
    """Delete the workflow as DeleteWorkflow does (its history and jobs stay)."""
    console, principal = await signed_in(request)
    view = await workflow_of(console, principal, request.path_params["name"])
    allow_all(principal, Action.MANAGE_WORKFLOWS, view.apps)
    values = await form(request)
    service = console.backend.container.workflows
    await console.execute(principal, service.delete, view.name, values.get("request_id", ""))
    return RedirectResponse("/workflows", status_code=303)


routes: list[BaseRoute] = [
    Route("/workflows/{name}/resume", resume, methods=["POST"]),
    Route("/workflows/{name}/run", run, methods=["POST"]),
    Route("/workflows/{name}/rotate-secret", rotate_secret, methods=["POST"]),
    Route("/workflows/{name}/delete", confirm_delete_page, methods=["GET"]),
    Route("/workflows/{name}/delete", delete, methods=["POST"]),
    Route("/apps/{app}/resume", resume_app, methods=["POST"]),
]
