"""Time travel: ``/apps/{app}/at?time=<moment>`` or ``?position=<n>``, what was live then.

Answered like ``GetActiveRelease`` with ``as_of`` (and admitted by its rule): the
projections' ``active_release_as_of`` gives the release and the log position the
answer is as of; everything else on the page is read as of that same position, so the
page is one consistent picture: the env version, the releases created by then, the last
events of the app up to it, and the activations just before and after it (to step
through the app's deployments). Neither parameter: as of now. Env keys only, as always.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger.errors import InvalidArgument
from projections.reader import ReadModel
from projections.views import AppView, EventView, ReleaseView
from server.console.pages.apps import parse_moment
from server.console.pages.common import app_context, app_header, query_number, signed_in
from server.console.pages.history_query import field_text
from server.console.pages.history_rows import Row, rows

EVENTS_AROUND = 10
RELEASES_SHOWN = 20
ACTIVATED = "ReleaseActivated"


@dataclass(frozen=True)
class Then:
    """The app as of one log position (``position`` 0: before the log began)."""

    position: int
    asked: datetime | None  # the moment asked for (None: by position, or now)
    before_app: bool  # the app did not exist yet
    release: ReleaseView | None
    live_since: EventView | None  # the activation that made ``release`` live
    env_version: int
    releases: list[ReleaseView]  # created by then, newest first (at most RELEASES_SHOWN)
    older_releases: int  # how many more existed then
    events: list[Row]  # the app's last events up to the position, newest first
    previous_activation: int  # the position of the activation before, 0: none
    next_activation: int  # the position of the activation after, 0: none

    @property
    def form_moment(self) -> str:
        """The moment the form starts from: the one asked, else the last event's."""
        if self.asked is not None:
            return field_text(self.asked)
        return field_text(self.events[0].event.time) if self.events else ""


def latest(
    reader: ReadModel, app: str, type_: str, position: int, count: int = 1
) -> list[EventView]:
    """The app's last ``count`` events of ``type_`` at or before ``position``."""
    if position <= 0:
        return []
    return reader.list_events(
        app=app, types=(type_,), before_position=position + 1, newest_first=True, limit=count
    )


def as_of(
    reader: ReadModel, app: AppView, moment: datetime | None, position: int, events: bool
) -> Then:
    """Blocking: the app as of ``moment``, else ``position``, else now."""
    if moment is not None:
        release_id, at = reader.active_release_as_of(app.name, time=moment)
        before_app = moment < app.created_at
    else:
        release_id, at = reader.active_release_as_of(app.name, position=position)
        first = reader.list_events(app=app.name, limit=1)
        before_app = not first or at < first[0].position
    activations = latest(reader, app.name, ACTIVATED, at, 2)
    following = reader.list_events(app=app.name, types=(ACTIVATED,), after_position=at, limit=1)
    env = latest(reader, app.name, "EnvChanged", at)
    created = latest(reader, app.name, "ReleaseCreated", at)
    count = int(created[0].data.get("release_version", 0)) if created else 0
    releases = (
        reader.list_releases(app.name, before_version=count + 1, limit=RELEASES_SHOWN)
        if count
        else []
    )
    around = (
        reader.list_events(
            app=app.name, before_position=at + 1, newest_first=True, limit=EVENTS_AROUND
        )
        if events and at > 0
        else []
    )
    return Then(
        position=at,
        asked=moment,
        before_app=before_app,
        release=reader.get_release(release_id) if release_id else None,
        live_since=activations[0] if activations and release_id else None,
        env_version=int(env[0].data.get("env_version", 0)) if env else 0,
        releases=releases,
        older_releases=max(0, count - len(releases)),
        events=rows(reader, around),
        previous_activation=activations[1].position if len(activations) > 1 else 0,
        next_activation=following[0].position if following else 0,
    )


async def travel_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    await console.allow(principal, "GetActiveRelease", app=app)
    params = request.query_params
    moment = parse_moment(params.get("time", ""))
    position = query_number(params, "position")
    if moment is not None and position:
        raise InvalidArgument("give a time or a log position, not both")
    if params.get("position", "").strip() and not position:
        raise InvalidArgument("position must be a log position: 1 or more")
    # The events around are the log: shown to keys that may read it (the ListEvents rule).
    events = console.may(principal, "ListEvents", app)
    then: Then = await console.run(
        as_of, console.backend.reader, header.app, moment, position, events
    )
    context = app_context(header, "history", then=then, asked_position=position)
    return console.render(request, "at.html", context, principal=principal)


routes: list[BaseRoute] = [Route("/apps/{app}/at", travel_page, methods=["GET"])]
