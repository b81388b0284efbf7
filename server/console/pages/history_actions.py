"""Each user action of the timeline as one History line: "v12 · Deploy R1A2B3C by alice ·
succeeded · 3 min ago", expanding into its events (rows of
:mod:`~server.console.pages.history_rows`).

What belongs to an action is the read side's rule (:mod:`ledger.queries.actions`); this
module only words it. Like the rows, a line names keys and ids, never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from ledger.queries import Action, Queries
from ledger.queries.actions import LEDGERD
from server.console.pages.history_rows import Link, Row, names, rows, short, text

# The outcome's badge class (status_class of the console's filters knows the statuses).
OUTCOME_STATUS = {"rolled back": "rolled_back", "rollback failed": "rollback_failed"}


@dataclass(frozen=True)
class Line:
    """One action as a line of the History page."""

    action: Action
    version: int  # of the release it deployed, made or rolled back to (0: none)
    title: str  # "Deploy R1A2B3C", "Env change v3: changed A", "Key created: ci (deployer)"
    who: str  # the actor's name (the line's hover shows the key id too)
    description: str  # why, as the person said it ('' when they did not)
    status: str  # for the badge's class
    links: tuple[Link, ...]
    rows: list[Row]  # its events, oldest first


def _who(actor: str) -> str:
    """``alice (KABC…)`` → ``alice``."""
    name, _, _ = actor.partition(" (")
    return name or actor or "—"


def _env_title(action: Action) -> str:
    change = next(
        event
        for event in action.events
        if event.type == "EnvChanged" and event.data.get("reason") != "promote"
    )
    parts = [
        f"{label} {', '.join(found)}"
        for label in ("added", "changed", "removed")
        if (found := names(change.data, label))
    ]
    title = f"Env change v{action.env_version}: " + ("; ".join(parts) or "no change")
    return title + (" · deploys" if action.promotion_id else "")


def _parent(action: Action) -> str:
    """The release a rollback went back to."""
    created = (event for event in action.events if event.type == "ReleaseCreated")
    return next((text(event.data, "parent_id") for event in created), "")


def _description(action: Action, title: str) -> str:
    """What the person said the action was for (not a text the ledger wrote itself)."""
    said = next(
        (
            text(event.data, "description")
            for event in action.events
            if event.actor != LEDGERD and text(event.data, "description")
        ),
        "",
    )
    return "" if said.casefold() == title.casefold() else short(said)


def _title(action: Action, target: int) -> str:
    first = action.events[0]
    if action.kind == "env":
        return _env_title(action)
    if action.kind == "rollback":
        return f"Rollback to v{target}" if target else "Rollback"
    if action.kind == "deploy":
        return f"Deploy {action.release_id}"
    if action.kind == "build":
        source = next(text(e.data, "source") for e in action.events if e.type == "BuildCreated")
        return f"Build {action.build_id}" + (f" of {source}" if source else "")
    if action.kind == "job":
        queued = next((e for e in action.events if e.data.get("workflow")), action.events[0])
        job = text(queued.data, "job_id")
        workflow = text(queued.data, "workflow")
        return f"Workflow job {job}" + (f" of {workflow}" if workflow else "")
    if action.kind == "KeyCreated":
        return f"Key created: {text(first.data, 'name')} ({text(first.data, 'role')})"
    if action.kind == "KeyRevoked":
        return f"Key revoked: {text(first.data, 'key_id')}"
    return action.label


def _links(action: Action) -> tuple[Link, ...]:
    if not action.app:
        return ()
    base = f"/apps/{action.app}"
    found: list[Link] = []
    if action.promotion_id:
        found.append(Link("promotion", f"{base}/promotions/{action.promotion_id}"))
    if action.build_id:
        found.append(Link("build", f"{base}/builds/{action.build_id}"))
    if action.release_id and action.kind != "deploy":
        found.append(Link("diff", f"{base}/diff?{urlencode({'to': action.release_id})}"))
    found.append(Link("what was live after", f"{base}/at?position={action.last}"))
    return tuple(found)


def _registered(action: Action) -> int:
    for event in action.events:
        if event.type == "ReleaseRegistered" and text(event.data, "release_id") == (
            action.release_id
        ):
            return int(text(event.data, "release_version") or 0)
    return 0


def lines(queries: Queries, found: list[Action]) -> list[Line]:
    """``found`` as lines (blocking: looks up the versions of releases registered before
    the action, and the releases of promotion events as the rows do)."""
    versions = queries.release_versions(
        [action.release_id for action in found if action.release_id and not _registered(action)]
        + [_parent(action) for action in found if action.kind == "rollback"]
    )
    every_row = iter(rows(queries, [event for action in found for event in action.events]))
    made: list[Line] = []
    for action in found:
        action_rows = [next(every_row) for _ in action.events]
        version = _registered(action) or versions.get(action.release_id, 0)
        status = OUTCOME_STATUS.get(action.outcome, action.outcome)
        title = _title(action, versions.get(_parent(action), 0))
        made.append(
            Line(action, version, title, _who(action.actor), _description(action, title),
                 status, _links(action), action_rows)
        )  # fmt: skip
    return made
