"""What a ledger answers, as plain JSON: the fixture ledger's expected answers are these,
written by the version that wrote the fixture, and every later version must give them.

:func:`answers` asks the read side (``ledger.queries.Queries``, the one both entry points
call) about everything the log holds up to ``head``; :func:`missing` compares an answer
with the expected one, allowing what later versions add (new keys, later events) and
nothing else.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import replace
from datetime import datetime
from typing import Any

from ledger.domain import Meta
from ledger.domain.key import Role
from ledger.policy import Principal
from ledger.queries import EventQuery, Queries
from ledger.views import RackReleaseView

PAGE = 500
READER = Principal(key_id="K0000000000", name="fixture", role=Role.ADMIN)


def answers(queries: Queries, head: int) -> dict[str, Any]:
    """Everything the fixture's expected answers hold, read as of log position ``head``."""
    apps = queries.visible_apps(READER, limit=PAGE)
    names = [app.name for app in apps]
    workflows = queries.workflows(limit=PAGE)
    events = [e for e in queries.events(EventQuery(), limit=10 * PAGE) if e.position <= head]
    found: dict[str, Any] = plain(
        {
            "head": head,
            "apps": apps,
            "releases": {name: queries.releases(name, limit=PAGE) for name in names},
            "env": {name: _env_keys(queries, name) for name in names},
            "env_history": {name: queries.env_history(name, limit=PAGE) for name in names},
            "builds": {name: queries.builds(name, limit=PAGE) for name in names},
            "promotions": {name: queries.promotions(name, limit=PAGE) for name in names},
            "active_release_as_of": {
                name: _as_of(queries, name, [e.position for e in events]) for name in names
            },
            "events": events,
            "keys": queries.keys(limit=PAGE, include_revoked=True),
            "workflows": workflows,
            "jobs": queries.jobs(limit=PAGE),
            "rack_releases": _rack_releases(queries, head),
        }
    )
    return found


def _rack_releases(queries: Queries, head: int) -> list[RackReleaseView]:
    """The versions started up to ``head``, the last of them running still (the reader's
    own start, after ``head``, is not part of the answer)."""
    found = [release for release in queries.rack_releases() if release.position <= head]
    return [replace(found[0], until=None), *found[1:]] if found else []


def _env_keys(queries: Queries, app: str) -> dict[str, Any]:
    """The env head as the app aggregate holds it (loaded from its snapshot and the events
    after it), keys only."""
    state = queries.env(READER, app)
    return {"version": state.version, "keys": sorted(state.values), "masked": state.masked}


def _as_of(queries: Queries, app: str, positions: list[int]) -> dict[str, str]:
    """The active release's id as of every position of the log, written where it changes
    (``{"12": "R…"}``: from position 12 on, until the next entry; ``""``: none)."""
    found: dict[str, str] = {}
    last: str | None = None
    for position in positions:
        release, _ = queries.active_release_as_of(app, position=position)
        active = release.id if release is not None else ""
        if active != last:
            found[str(position)] = last = active
    return found


def plain(value: Any) -> Any:
    """``value`` as JSON values: views as objects, times in RFC 3339, enums as values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Meta):
        return plain(dataclasses.asdict(value))
    return value


def missing(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where ``actual`` fails to give ``expected``: every key of an expected object with the
    same value (an answer may hold more keys), lists of the same length, equal values."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or '/'}: expected an object, got {actual!r:.200}"]
        found: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}/{key}: missing")
            else:
                found.extend(missing(value, actual[key], f"{where}/{key}"))
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            size = len(actual) if isinstance(actual, list) else actual
            return [f"{where}: expected {len(expected)} items, got {size!r:.200}"]
        return [
            m
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for m in missing(e, a, f"{where}/{i}")
        ]
    if expected != actual:
        return [f"{where}: expected {expected!r:.200}, got {actual!r:.200}"]
    return []
