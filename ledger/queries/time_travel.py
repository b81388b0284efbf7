"""Time travel: what was live in an app at a moment or a log position, and around it.

One query for every entry point (the API's GetAppAt, ``ledgerctl apps info --at``, the
console's time-travel page). The moment is resolved to the newest log position at or before
it; everything else is read as of that same position, so the answer is one consistent
picture: the release live then and the activation that made it live, the app's env version,
the releases that existed, the activations just before and after (to step through the
app's deployments) and, for keys that may read the log, the app's last events up to it.
Env keys only, as always.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger import policy
from ledger.errors import InvalidArgument
from ledger.policy import Action, Principal
from ledger.queries.base import QueriesBase
from ledger.views import ActivationView, AppView, EventView, ReleaseView

EVENTS_AROUND = 10
RELEASES_SHOWN = 20


@dataclass(frozen=True)
class AppAt:
    """An app as of one log position (``position`` 0: before the log began)."""

    app: AppView
    position: int
    asked_time: datetime | None  # the moment asked for (None: by position, or now)
    before_app: bool  # the app did not exist yet
    release: ReleaseView | None  # live then
    live_since: ActivationView | None  # the activation that made ``release`` live
    env_version: int
    releases: list[ReleaseView]  # created by then, newest first (at most RELEASES_SHOWN)
    older_releases: int  # how many more existed then
    events: list[EventView]  # the app's last events up to the position, newest first
    events_shown: bool  # False: the key may not read the app's log
    previous_activation: int  # the position of the activation before, 0: none
    next_activation: int  # the position of the activation after, 0: none


class TimeTravelQueries(QueriesBase):
    """What was live when."""

    def app_at(
        self,
        principal: Principal,
        name: str,
        *,
        time: datetime | None = None,
        position: int = 0,
    ) -> AppAt:
        """The app ``name`` as of ``time``, else ``position``, else now."""
        if time is not None and position:
            raise InvalidArgument("give a time or a log position, not both")
        if position < 0:
            raise InvalidArgument("a log position is 1 or more")
        app = self.app(name)
        reader = self.reader
        release_id, at = reader.active_release_as_of(name, position=position, time=time)
        before_app = time < app.created_at if time is not None else at < app.position
        activations = reader.activations_until(name, at, 2)
        following = reader.activation_after(name, at)
        releases, count = reader.releases_until(name, at, RELEASES_SHOWN) if at else ([], 0)
        shown = policy.allows(principal, Action.READ_LOG, name)
        events = self._events_until(name, at) if shown and at > 0 else []
        return AppAt(
            app=app,
            position=at,
            asked_time=time,
            before_app=before_app,
            release=reader.get_release(release_id) if release_id else None,
            live_since=activations[0] if activations and release_id else None,
            env_version=reader.env_version_at(name, at),
            releases=releases,
            older_releases=max(0, count - len(releases)),
            events=events,
            events_shown=shown,
            previous_activation=activations[1].position if len(activations) > 1 else 0,
            next_activation=following.position if following else 0,
        )

    def _events_until(self, app: str, position: int) -> list[EventView]:
        return self.reader.list_events(
            app=app, before_position=position + 1, newest_first=True, limit=EVENTS_AROUND
        )
