"""The audit timeline as user actions: one line per thing a person (or ``ledgerd`` on its
own) did, each holding every event it caused.

The grouping rule, in one place (the History pages and any later reader use it):

1. Events that share a request id belong to one action (a request retried with the same
   id acts once, so it is one action too).
2. Events that name the same promotion, build, workflow job or command run belong to one
   action: ``ledgerd``'s own steps of a promotion (started, steps, succeeded, the release
   made active, settled) fold into the action that asked for the promotion; a build's
   start, output and end into the action that created it.
3. A release belongs to what created it: a build's release to the build; a release made
   by an env change (reason ``env``) to that env change; a release made to be promoted at
   once (reasons ``env`` and ``rollback``) to the first promotion of it. A release later
   promoted by someone else is a deploy of its own (promoting never joins the build).
4. The env head following what runs (``EnvChanged``, reason ``promote``, by ``ledgerd``)
   belongs to the promotion whose activation it follows: it is recorded in the same
   transaction, right after that ``ReleaseActivated``.
5. Anything else is an action of its own (an app created, a key created or revoked…).

Rules 1-4 are links between events: an action is a connected set of linked events. Only
the events given are grouped: a filtered view groups what it selected, and an action
whose events lie partly outside them shows the part given (see
:func:`ledger.queries.history.page_of`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.views import EventView

LEDGERD = "ledgerd"
SINGLE_EVENT_KINDS = {
    "AppCreated": "App created",
    "KeyCreated": "Key created",
    "KeyRevoked": "Key revoked",
}
# The outcome a settled promotion reports, as a line says it.
SETTLED = {
    "succeeded": "succeeded",
    "failed": "failed",
    "rolled_back": "rolled back",
    "rollback_failed": "rollback failed",
    "cancelled": "cancelled",
}
# A promotion not settled yet: what its latest event says it is doing.
IN_FLIGHT = {
    "PromotionRequested": "pending",
    "PromotionQueued": "queued",
    "PromotionDequeued": "pending",
    "PromotionBegun": "pending",
    "PromotionStarted": "running",
    "PromotionStepRecorded": "running",
    "PromotionSucceeded": "running",
    "PromotionFailed": "failing",
    "PromotionRollbackStarted": "rolling back",
    "PromotionCancelRequested": "cancelling",
}
MAX_CAUSE = 160


@dataclass(frozen=True)
class Action:
    """One user action and the events it caused, oldest first."""

    kind: str  # "deploy", "rollback", "env", "build", "job", or the first event's type
    label: str  # what the line calls it: "Deploy", "Env change", "Key created"…
    app: str
    actor: str  # who asked: the first actor that is not ledgerd (else ledgerd)
    outcome: str  # "succeeded", "failed", "rolled back", "running", "recorded"…
    cause: str  # why it failed ('' unless it did)
    events: tuple[EventView, ...]
    release_id: str = ""  # the release it promoted (deploys, rollbacks, env changes)
    build_id: str = ""
    promotion_id: str = ""
    env_version: int = 0  # the env version a person's env change made

    @property
    def started(self) -> datetime:
        return self.events[0].time

    @property
    def first(self) -> int:
        return self.events[0].position

    @property
    def last(self) -> int:
        return self.events[-1].position

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The request ids its events were recorded with, in order, each once."""
        return tuple(dict.fromkeys(event.request_id for event in self.events if event.request_id))

    @property
    def by_ledgerd(self) -> int:
        """How many of its events ``ledgerd`` recorded on its behalf."""
        return sum(1 for event in self.events if event.actor == LEDGERD)


def _text(event: EventView, name: str) -> str:
    value = event.data.get(name)
    return "" if value is None else str(value)


def _first_promotions(events: Sequence[EventView]) -> dict[str, str]:
    """The first promotion of each release among ``events`` (oldest first)."""
    found: dict[str, str] = {}
    for event in events:
        if event.type in ("PromotionRequested", "PromotionBegun"):
            release, promotion = _text(event, "release_id"), _text(event, "promotion_id")
            if release and promotion:
                found.setdefault(release, promotion)
    return found


def _links(event: EventView, first_promotion: dict[str, str], activated: str) -> list[str]:
    """What ``event`` is linked by (rules 1-4 of the module docstring)."""
    found = [f"request:{event.request_id}"] if event.request_id else []
    for field in ("promotion_id", "job_id", "run_id"):
        if value := _text(event, field):
            found.append(f"{field}:{value}")
    build = _text(event, "build_id")
    release = _text(event, "release_id")
    reason = _text(event, "reason")
    if build and (event.type.startswith(("Build", "Job")) or reason == "build"):
        found.append(f"build_id:{build}")
    if release and event.type in ("ReleaseCreated", "ReleaseRegistered", "BuildSucceeded"):
        found.append(f"release:{release}")
    if event.type == "ReleaseCreated" and reason != "build" and release in first_promotion:
        found.append(f"promotion_id:{first_promotion[release]}")
    if event.type == "ReleaseCreated" and reason == "env":
        found.append(f"env:{event.app}:{_text(event, 'env_version')}")
    if event.type == "EnvChanged":
        if reason == "promote" and event.actor == LEDGERD and activated:
            found.append(f"promotion_id:{activated}")
        elif reason != "promote":
            found.append(f"env:{event.app}:{_text(event, 'env_version')}")
    return found


def group(events: Iterable[EventView]) -> list[list[EventView]]:
    """``events`` in groups by the linking rules, each oldest first; groups ordered by
    their newest event, newest first."""
    ordered = sorted(events, key=lambda event: event.position)
    first_promotion = _first_promotions(ordered)
    parent = list(range(len(ordered)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    activated: dict[str, str] = {}  # app → promotion of the activation just before
    for index, event in enumerate(ordered):
        for link in _links(event, first_promotion, activated.get(event.app, "")):
            if link in owner:
                parent[root(index)] = root(owner[link])
            else:
                owner[link] = index
        activated[event.app] = (
            _text(event, "promotion_id") if event.type == "ReleaseActivated" else ""
        )
    groups: dict[int, list[EventView]] = {}
    for index, event in enumerate(ordered):
        groups.setdefault(root(index), []).append(event)
    return sorted(groups.values(), key=lambda found: found[-1].position, reverse=True)


def actions(events: Iterable[EventView]) -> list[Action]:
    """``events`` as actions, newest (by their latest event) first."""
    return [action_of(found) for found in group(events)]


def _words(event_type: str) -> str:
    """``AppDeadlineChanged`` → ``App deadline changed``."""
    words = re.findall(r"[A-Z][a-z0-9]*", event_type) or [event_type]
    return " ".join([words[0], *(word.lower() for word in words[1:])])


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_CAUSE else line[: MAX_CAUSE - 1] + "…"


def _cause(event: EventView) -> str:
    cause = event.data.get("cause")
    if isinstance(cause, dict):
        parts = (str(cause.get("kind") or ""), str(cause.get("message") or ""))
        return _short(": ".join(part for part in parts if part))
    return _short(_text(event, "error"))


def _promotion_outcome(events: Sequence[EventView]) -> tuple[str, str]:
    """A promotion's outcome and, when it failed, why."""
    cause = next((_cause(e) for e in events if e.type == "PromotionFailed"), "")
    settled = [e for e in events if e.type == "PromotionSettled"]
    if settled:
        status = _text(settled[-1], "status")
        return SETTLED.get(status, status.replace("_", " ")), cause
    latest = [e for e in events if e.type in IN_FLIGHT]
    return (IN_FLIGHT[latest[-1].type] if latest else "running"), cause


def _build_outcome(events: Sequence[EventView]) -> tuple[str, str]:
    for event in reversed(events):
        if event.type == "BuildSucceeded":
            return "succeeded", ""
        if event.type == "BuildFailed":
            return "failed", _cause(event)
    return "running", ""


def _job_outcome(events: Sequence[EventView]) -> tuple[str, str]:
    ended = [e for e in events if e.type == "JobEnded"]
    if not ended:
        return "running", ""
    status = _text(ended[-1], "status")
    return status.replace("_", " "), _short(_text(ended[-1], "detail"))


def _kind(events: Sequence[EventView], types: set[str]) -> tuple[str, str]:
    if types & {"JobQueued", "JobStarted", "WorkflowJobQueued"}:
        return "job", "Workflow job"
    if any(e.type == "EnvChanged" and _text(e, "reason") != "promote" for e in events):
        return "env", "Env change"
    if any(e.type == "ReleaseCreated" and _text(e, "reason") == "rollback" for e in events):
        return "rollback", "Rollback"
    if "PromotionRequested" in types:
        return "deploy", "Deploy"
    if "BuildCreated" in types:
        return "build", "Build"
    first = events[0].type
    return first, SINGLE_EVENT_KINDS.get(first, _words(first))


def action_of(events: Sequence[EventView]) -> Action:
    """What one group of events (oldest first) did, by whom, and how it ended."""
    types = {event.type for event in events}
    kind, label = _kind(events, types)
    actor = next((e.actor for e in events if e.actor and e.actor != LEDGERD), events[0].actor)
    app = next((e.app for e in events if e.app), "")
    requested = next((e for e in events if e.type == "PromotionRequested"), None)
    promotion = next((_text(e, "promotion_id") for e in events if _text(e, "promotion_id")), "")
    build = next((_text(e, "build_id") for e in events if e.type == "BuildCreated"), "")
    if kind == "job":
        outcome, cause = _job_outcome(events)
    elif promotion:
        outcome, cause = _promotion_outcome(events)
    elif build:
        outcome, cause = _build_outcome(events)
    else:
        outcome, cause = "recorded", ""
    release = _text(requested, "release_id") if requested is not None else ""
    if not release:
        release = next((_text(e, "release_id") for e in events if _text(e, "release_id")), "")
    env_version = next(
        (
            int(_text(e, "env_version") or 0)
            for e in events
            if e.type == "EnvChanged" and _text(e, "reason") != "promote"
        ),
        0,
    )
    return Action(
        kind, label, app, actor, outcome, cause, tuple(events), release, build, promotion,
        env_version,
    )  # fmt: skip
