"""The History pages' filters as URLs: read from a GET query, written back into links.

Filters travel in a GET query (``types`` repeated, ``since``, ``until``, ``actor``,
``app`` on the global page, ``before`` for paging), so a filtered view is a URL that can
be shared. What they mean, and the checks of their fields, are the read side's
(:class:`ledger.queries.EventQuery`, one page by ``Queries.history``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from ledger.errors import InvalidArgument
from ledger.queries import EventQuery
from server.console.pages.apps import parse_moment
from server.console.pages.common import query_number

PAGE_SIZE = 25  # actions per page (one line each)


@dataclass(frozen=True)
class EventFilter:
    """The events a History page shows (all of them, newest first, by default)."""

    app: str = ""
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""
    before: int = 0  # paging: only positions lower than this (0: from the newest)
    app_in_path: bool = False  # the app is the page's (not a field of the query)

    @property
    def event_query(self) -> EventQuery:
        """What the read side is asked (checked when the filter was parsed)."""
        return EventQuery(self.app, self.types, self.since, self.until, self.actor, self.before)

    @property
    def narrowed(self) -> bool:
        """Whether anything but the app narrows the view (such a view is not live)."""
        return bool(self.types or self.since or self.until or self.actor or self.before)

    def query(self, **changes: object) -> str:
        """The URL query of this filter (with ``changes``), empty fields left out."""
        chosen = replace(self, **changes)  # type: ignore[arg-type]
        pairs: list[tuple[str, str]] = []
        if chosen.app and not chosen.app_in_path:
            pairs.append(("app", chosen.app))
        pairs.extend(("types", name) for name in chosen.types)
        if chosen.since is not None:
            pairs.append(("since", moment_text(chosen.since)))
        if chosen.until is not None:
            pairs.append(("until", moment_text(chosen.until)))
        if chosen.actor:
            pairs.append(("actor", chosen.actor))
        if chosen.before:
            pairs.append(("before", str(chosen.before)))
        return urlencode(pairs)


def moment_text(moment: datetime) -> str:
    """A moment in a URL: UTC, to the second, or to the microsecond when it has a
    fraction, so that a shared URL means exactly the same moment."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S" + (".%f" if utc.microsecond else ""))


def field_text(moment: datetime, round_up: bool = False) -> str:
    """A moment as a ``datetime-local`` field with ``step="1"`` takes it: whole seconds
    (a fraction would make the form invalid), rounded down unless ``round_up``."""
    utc = moment.astimezone(UTC)
    if round_up and utc.microsecond:
        utc += timedelta(seconds=1)
    return utc.strftime("%Y-%m-%dT%H:%M:%S")


def parse_filter(params: QueryParams, app: str = "") -> EventFilter:
    """The filter in a History page's URL; ``app`` is the app of the page ('' on the
    global page, which reads it from the ``app`` field)."""
    chosen_app = app or params.get("app", "").strip()
    types = [name.strip() for name in params.getlist("types") if name.strip()]
    since = parse_moment(params.get("since", ""))
    until = parse_moment(params.get("until", ""))
    if since is not None and until is not None and since > until:
        raise InvalidArgument("since is after until")
    actor = params.get("actor", "").strip()
    before = query_number(params, "before")
    checked = EventQuery(chosen_app, tuple(types), since, until, actor, before).checked()
    return EventFilter(chosen_app, checked.types, since, until, actor, before, bool(app))
