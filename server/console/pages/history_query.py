"""What the History pages ask of the log: filters read from the URL, and one page of events.

Filters travel in a GET query (``types`` repeated, ``since``, ``until``, ``actor``,
``app`` on the global page, ``before`` for paging), so a filtered view is a URL that can
be shared; they are checked like ``ListEvents`` checks its request.

The log is indexed by app, type, time and position, not by actor, so the actor filter (a
substring of how events name a key, ``name (key id)``) is matched here, on the events
fetched. Rather than show a page with a few rows left, further batches are fetched until
the page is full, but at most :data:`SCAN_LIMIT` events per request: with a rare actor in
a long log the page then says that it stopped scanning, and its "Older" link carries on
from the last event scanned. One request stays cheap; no event is ever skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from ledger.domain import App, Build, Key, LedgerEvent, Promotion, Rack, Release, event_type
from ledger.errors import InvalidArgument
from ledger.ids import check_app_name
from projections.reader import ReadModel
from projections.views import EventView
from server.console.pages.apps import parse_moment
from server.console.pages.common import query_number
from server.grpc.servicers.events import EVENT_TYPE, MAX_TYPES

PAGE_SIZE = 50
BATCH = 200  # events fetched per query while an actor filter leaves the page short
SCAN_LIMIT = 2000  # events scanned per request at most (actor filter)
MAX_ACTOR = 200


@cache
def known_types() -> tuple[str, ...]:
    """Every event type this ledger writes to its log (the type filter's choices).

    Taken from the domain's event classes rather than from a scan of the log: the log
    holds no other types, and the list costs no query. ``RequestRecorded`` is left out,
    as the audit timeline never shows it.
    """
    found: set[str] = set()
    for aggregate in (App, Build, Key, Promotion, Rack, Release):
        for value in vars(aggregate).values():
            if (
                isinstance(value, type)
                and issubclass(value, LedgerEvent)
                and value.TOPIC != LedgerEvent.TOPIC
            ):
                found.add(event_type(value.TOPIC))
    return tuple(sorted(found))


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
    if chosen_app:
        check_app_name(chosen_app)
    types = sorted({name.strip() for name in params.getlist("types") if name.strip()})
    if len(types) > MAX_TYPES:
        raise InvalidArgument(f"at most {MAX_TYPES} event types")
    for name in types:
        if not EVENT_TYPE.fullmatch(name):
            raise InvalidArgument(f"invalid event type {name[:40]!r}: e.g. EnvChanged")
    since = parse_moment(params.get("since", ""))
    until = parse_moment(params.get("until", ""))
    if since is not None and until is not None and since > until:
        raise InvalidArgument("since is after until")
    actor = params.get("actor", "").strip()
    if len(actor) > MAX_ACTOR:
        raise InvalidArgument(f"actor: at most {MAX_ACTOR} characters")
    before = query_number(params, "before")
    return EventFilter(chosen_app, tuple(types), since, until, actor, before, bool(app))


@dataclass(frozen=True)
class EventPage:
    """One page of the timeline: ``older`` is the ``before`` of the next page (0: none);
    ``scanned`` is set when the actor filter stopped at :data:`SCAN_LIMIT`."""

    events: list[EventView]
    older: int
    scanned: int = 0


def fetch_page(reader: ReadModel, chosen: EventFilter, size: int = PAGE_SIZE) -> EventPage:
    """Up to ``size`` events matching ``chosen``, newest first (see the module docstring
    for the actor filter)."""
    wanted = chosen.actor.casefold()
    batch = BATCH if wanted else size + 1
    found: list[EventView] = []
    cursor = chosen.before
    scanned = 0
    while True:
        events = reader.list_events(
            app=chosen.app,
            types=chosen.types,
            since=chosen.since,
            until=chosen.until,
            before_position=cursor,
            newest_first=True,
            limit=batch,
        )
        for event in events:
            scanned += 1
            if wanted and wanted not in event.actor.casefold():
                cursor = event.position
                continue
            if len(found) == size:  # one more match: there is an older page
                return EventPage(found, found[-1].position)
            found.append(event)
            cursor = event.position
        if len(events) < batch:
            return EventPage(found, 0)
        if scanned >= SCAN_LIMIT:
            return EventPage(found, cursor, scanned)
