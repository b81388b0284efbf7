"""The audit timeline: events filtered by app, type, time and actor, a page at a time,
as events or as user actions (grouped by :mod:`ledger.queries.actions`).

Filters are checked here, once for every entry point (ListEvents, the History pages).
The log is indexed by app, type, time and position, not by actor, so the actor filter (a
substring of how events name a key, ``name (key id)``) is matched on the events fetched.
Rather than return a page with a few rows left, further batches are fetched until the page
is full, but at most :data:`SCAN_LIMIT` events per call: with a rare actor in a long log
the page then says it stopped scanning, and the next page carries on from the last event
scanned. One call stays cheap; no event is ever skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.errors import InvalidArgument
from ledger.ids import check_app_name
from ledger.queries.actions import Action
from ledger.queries.actions import actions as actions_of
from ledger.queries.base import QueriesBase
from ledger.views import EventView

EVENT_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
MAX_TYPES = 50
MAX_ACTOR = 200
BATCH = 200  # events fetched per query while an actor filter leaves the page short
SCAN_LIMIT = 2000  # events scanned per call at most (actor filter)
ACTION_EVENTS = 400  # events read for one page of actions


def check_event_types(types: Iterable[str]) -> tuple[str, ...]:
    """The type filter, sorted and unique; INVALID_ARGUMENT for a malformed name."""
    chosen = sorted(set(types))
    if len(chosen) > MAX_TYPES:
        raise InvalidArgument(f"at most {MAX_TYPES} event types")
    for name in chosen:
        if not EVENT_TYPE.fullmatch(name):
            raise InvalidArgument(f"invalid event type {name[:40]!r}: e.g. EnvChanged")
    return tuple(chosen)


@dataclass(frozen=True)
class EventQuery:
    """Which events: of ``app`` ('' every app), of ``types`` (none: all), in
    [``since``, ``until``), whose actor contains ``actor``; newest first before position
    ``before`` (0: from the newest)."""

    app: str = ""
    types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""
    before: int = 0

    def checked(self) -> EventQuery:
        """This query with its fields checked (INVALID_ARGUMENT naming what is wrong)."""
        if self.app:
            check_app_name(self.app)
        if len(self.actor) > MAX_ACTOR:
            raise InvalidArgument(f"actor: at most {MAX_ACTOR} characters")
        if self.before < 0:
            raise InvalidArgument("before must not be negative")
        return EventQuery(
            self.app, check_event_types(self.types), self.since, self.until, self.actor,
            self.before,
        )  # fmt: skip


@dataclass(frozen=True)
class EventPage:
    """One page of the timeline, newest first: ``older`` is the ``before`` of the next page
    (0: none); ``scanned`` is set when the actor filter stopped at :data:`SCAN_LIMIT`."""

    events: list[EventView]
    older: int
    scanned: int = 0


@dataclass(frozen=True)
class ActionPage:
    """A page of actions, newest first; ``older`` is where the next page reads from
    (``before``; 0: there is none); ``scanned`` as in :class:`~ledger.queries.EventPage`."""

    actions: list[Action]
    older: int
    scanned: int = 0


def page_of(events: Sequence[EventView], size: int, more: int) -> ActionPage:
    """The first ``size`` actions of ``events`` (newest first, as read), and where the
    next page starts: never inside one of them.

    ``more`` is where reading further would go on (0: ``events`` reach the log's start).
    The page's boundary is the oldest event of its actions; every action with an event at
    or above it is on the page too (so no event is skipped), and the next page reads from
    there. An action longer than what was read (e.g. a promotion that ran while hundreds
    of other events were recorded) shows the part read here and the rest on older pages.
    """
    found = actions_of(events)
    if not found:
        return ActionPage([], more)
    boundary = min(action.first for action in found[:size])
    while True:  # take every action with an event at or above the boundary
        taken = [action for action in found if action.last >= boundary]
        lowest = min(action.first for action in taken)
        if lowest == boundary:
            break
        boundary = lowest
    if len(taken) == len(found):
        return ActionPage(taken, more)
    return ActionPage(taken, boundary)


class HistoryQueries(QueriesBase):
    """The log as the audit timeline shows it (values masked, see ``EventView.data``)."""

    def history(self, query: EventQuery, size: int = 50) -> EventPage:
        """Up to ``size`` events matching ``query``, newest first."""
        wanted = query.actor.casefold()
        batch = BATCH if wanted else size + 1
        found: list[EventView] = []
        cursor, scanned = query.before, 0
        while True:
            events = self.reader.list_events(
                app=query.app,
                types=query.types,
                since=query.since,
                until=query.until,
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

    def actions(self, query: EventQuery, size: int = 25) -> ActionPage:
        """Up to ``size`` user actions among the events matching ``query``, newest first
        (grouped by :mod:`ledger.queries.actions`; a page never ends inside an action
        among the :data:`ACTION_EVENTS` events it reads)."""
        page = self.history(query, ACTION_EVENTS)
        found = page_of(page.events, size, page.older)
        return ActionPage(found.actions, found.older, page.scanned)

    def events(
        self,
        query: EventQuery,
        *,
        after_position: int = 0,
        newest_first: bool = False,
        limit: int = 100,
    ) -> list[EventView]:
        """Events matching ``query`` (its actor filter aside) after ``after_position``,
        oldest first unless ``newest_first``: the API's ListEvents and watch backlog."""
        if after_position < 0:
            raise InvalidArgument("after_position must not be negative")
        return self.reader.list_events(
            app=query.app,
            types=query.types,
            since=query.since,
            until=query.until,
            after_position=after_position,
            before_position=query.before,
            newest_first=newest_first,
            limit=limit,
        )

    def head(self) -> int:
        """The last log position the read side includes."""
        return self.reader.position()
