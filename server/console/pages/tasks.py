"""The Tasks tab: where the app's tasks run (``ledgerctl ps`` in a page).

The read is the read side's (:meth:`~ledger.queries.tasks.TaskQueries.tasks`), admitted
like every app page for the policy's ``read`` action (:func:`app_header`). It asks the
runtime live; a runtime that does not answer leaves the tab up saying why, rather than
an error page, since the rest of the app's pages do not depend on it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger.errors import Unavailable
from ledger.runtime import TaskPlacement
from server.console.pages.common import app_context, app_header, render_page, signed_in


async def tasks_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    problem = ""
    tasks: list[TaskPlacement] = []
    try:
        tasks = await console.run(console.queries.tasks, header.app.name)
    except Unavailable as error:
        problem = str(error)
    context = app_context(header, "tasks", tasks=tasks, problem=problem)
    regions = {"tasks-table": "_tasks_table.html"}
    return render_page(console, request, "tasks.html", context, principal, regions)


routes: list[BaseRoute] = [Route("/apps/{app}/tasks", tasks_page, methods=["GET"])]
