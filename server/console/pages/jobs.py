"""A workflow job's page: its trigger, each step (linked to the build, release and
promotion it made), the cause of a failure, re-running it; its steps arrive live.

The job is the read side's (``Queries.job``, with its steps), seen by keys that may read
one of its apps or of its workflow's (as ``Queries.visible_jobs`` lists it); re-running
is the use case RerunJob runs, admitted for ``build`` on every app of the job. The page
follows the job's events and those of its apps (its builds and promotions), re-rendering
itself through its own URL as the other live pages do.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import policy
from ledger.domain import JobStatus
from ledger.ids import JOB, check_id
from ledger.policy import Action, Principal
from ledger.views import EventView, JobView
from server.console.context import Console
from server.console.pages.common import form, render_page, signed_in
from server.console.pages.live import sse, stream
from server.console.pages.workflows import allow_all, allow_read, may_all


async def job_of(console: Console, principal: Principal, raw_id: str) -> JobView:
    """The job named in the URL, with its steps, if the key may see it."""
    policy.check_granted(principal, Action.READ)
    view: JobView = await console.run(console.queries.job, check_id(JOB, raw_id))
    if not any(console.may(principal, Action.READ, app) for app in view.apps):
        # A review app's job is seen by the keys of the workflow's apps too, as listed.
        workflow = await console.run(console.queries.workflow, view.workflow, True)
        allow_read(principal, (*view.apps, *workflow.apps))
    return view


def ended(job: JobView) -> bool:
    try:
        return JobStatus(job.status).ended
    except ValueError:  # a status of a newer ledgerd: not offered a re-run
        return False


async def job_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    job = await job_of(console, principal, request.path_params["id"])
    context = {
        "job": job,
        "ended": ended(job),
        "may_rerun": may_all(principal, Action.BUILD, job.apps),
    }
    return render_page(console, request, "job.html", context, principal, {"job": "_job.html"})


async def rerun(request: Request) -> Response:
    """A new job with this one's trigger; show it."""
    console, principal = await signed_in(request)
    job = await job_of(console, principal, request.path_params["id"])
    allow_all(principal, Action.BUILD, job.apps)
    values = await form(request)
    service = console.backend.container.workflows
    outcome = await console.execute(principal, service.rerun, job.id, values.get("request_id", ""))
    return RedirectResponse(f"/jobs/{outcome.job_id}", status_code=303)


async def job_live(request: Request) -> Response:
    """The job's own events, and those of its apps that the key may read."""
    console, principal = await signed_in(request)
    job = await job_of(console, principal, request.path_params["id"])
    apps = {app for app in job.apps if console.may(principal, Action.READ, app)}

    def relevant(event: EventView) -> bool:
        if event.data.get("job_id") == job.id or event.type == "Overflowed":
            return True
        return bool(event.app) and event.app in apps

    return sse(stream(console, request, "", relevant))


routes: list[BaseRoute] = [
    Route("/jobs/{id}", job_page, methods=["GET"]),
    Route("/jobs/{id}/rerun", rerun, methods=["POST"]),
    Route("/jobs/{id}/live", job_live, methods=["GET"]),
]
