"""``ledgerctl apps info APP --at X``: what was live then, as ``GetAppAt`` answers it.

The same answer the console's time-travel page shows (one query on the server): the
release live then and the activation that made it live, the app's env version then, the
releases that existed, the activations just before and after (positions to step to with
``--at``) and, for keys that may read the app's log, its last events up to that point.
"""

from __future__ import annotations

from cli import render
from cli.render import JsonDict
from cli.tables import MISSING, key_values, table, text, version, when
from ledger_api.v1 import ledger_pb2 as pb


def as_json(then: pb.AppAt) -> JsonDict:
    """The ``at`` object of ``apps info --at --json`` (snake_case, nulls for absent)."""
    live_since = None
    if then.HasField("live_since"):
        since = then.live_since
        live_since = {
            "position": since.position,
            "release_id": since.release_id,
            "promotion_id": since.promotion_id or None,
            "time": render.timestamp(since, "time"),
        }
    return {
        "position": then.position,
        "before_app": then.before_app,
        "release": render.optional_release(then, "release"),
        "live_since": live_since,
        "env_version": then.env_version,
        "releases": [render.release(release) for release in then.releases],
        "older_releases": then.older_releases,
        "events": [render.event(event) for event in then.events] if then.events_shown else None,
        "previous_activation": then.previous_activation or None,
        "next_activation": then.next_activation or None,
    }


def human(then: pb.AppAt, asked: str) -> str:
    """Key/value lines of what was live, then the releases and events of that moment."""
    live = MISSING
    if then.HasField("release"):
        r = then.release
        live = f"{version(r.version)} {r.id} (build {text(r.build_id)})"
    pairs = [
        (f"Active release as of {asked}", "none" if live == MISSING else live),
        ("Log position", str(then.position)),
        ("App then", "did not exist yet" if then.before_app else "existed"),
        ("Live since", _live_since(then)),
        ("Env version then", f"v{then.env_version}"),
        ("Previous activation", _position(then.previous_activation)),
        ("Next activation", _position(then.next_activation)),
    ]
    blocks = [key_values(pairs)]
    if then.releases:
        blocks.append(_releases(then))
    if then.events:
        blocks.append(_events(then))
    return "\n\n".join(blocks)


def _live_since(then: pb.AppAt) -> str:
    if not then.HasField("live_since"):
        return MISSING
    since = then.live_since
    return f"{when(since, 'time')} (position {since.position}, promotion {since.promotion_id})"


def _position(value: int) -> str:
    return f"position {value}" if value else MISSING


def _releases(then: pb.AppAt) -> str:
    live = then.release.id if then.HasField("release") else ""
    rows = [
        [
            ("* " if r.id == live else "  ") + version(r.version),
            r.id,
            text(r.reason),
            when(r, "created_at"),
        ]
        for r in then.releases
    ]
    more = f"\n(and {then.older_releases} older)" if then.older_releases else ""
    return "Releases then:\n" + table(["  VERSION", "ID", "REASON", "CREATED"], rows) + more


def _marked(live: bool) -> str:
    """``*`` before the release live then, as ``ledgerctl releases`` marks the active one."""
    return "* " if live else "  "


def _events(then: pb.AppAt) -> str:
    rows = [[str(e.position), when(e, "time"), e.type, text(e.actor)] for e in then.events]
    return "Last events then:\n" + table(["POSITION", "TIME", "TYPE", "ACTOR"], rows, right=[0])
