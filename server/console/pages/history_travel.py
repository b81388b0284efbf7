"""Time travel: ``/apps/{app}/at?time=<moment>`` or ``?position=<n>``, what was live then.

The read side's ``Queries.app_at`` answers, the same query as the API's ``GetAppAt`` and
``ledgerctl apps info --at``: the release live then and the activation that made it live,
the env version, the releases created by then, the last events of the app up to that
point (for keys that may read its log) and the activations just before and after it (to
step through the app's deployments). Neither parameter: as of now. Env keys only, as
always.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger.errors import InvalidArgument
from ledger.queries import AppAt
from server.console.pages.apps import parse_moment
from server.console.pages.common import app_context, app_header, query_number, signed_in
from server.console.pages.history_query import field_text
from server.console.pages.history_rows import Row, rows


def form_moment(then: AppAt) -> str:
    """The moment the form starts from: the one asked, else the last event's."""
    if then.asked_time is not None:
        return field_text(then.asked_time)
    return field_text(then.events[0].time) if then.events else ""


async def travel_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    params = request.query_params
    moment = parse_moment(params.get("time", ""))
    position = query_number(params, "position")
    if params.get("position", "").strip() and not position:
        raise InvalidArgument("position must be a log position: 1 or more")
    queries = console.queries

    def load() -> tuple[AppAt, list[Row]]:
        then = queries.app_at(principal, header.app.name, time=moment, position=position)
        return then, rows(queries, then.events)

    then, event_rows = await console.run(load)
    context = app_context(
        header,
        "history",
        then=then,
        event_rows=event_rows,
        form_moment=form_moment(then),
        asked_position=position,
    )
    return console.render(request, "at.html", context, principal=principal)


routes: list[BaseRoute] = [Route("/apps/{app}/at", travel_page, methods=["GET"])]
