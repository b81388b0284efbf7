"""Each event of the timeline as a History row: a one-line summary of its data, and links
to what it concerns (the promotion, the release's diff, what was live at that point).

Summaries name keys and ids, never values: the data of an event already has env values
masked (``hmac-sha256:…`` digests, see :mod:`projections.audit`), and the summary does not
even show those; the row's full data (as ``ledgerctl history`` prints it) shows them as
they are. Promotion events that carry only the promotion's id get its release from the
promotion itself, one lookup per promotion on the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ledger.queries import Queries
from ledger.views import EventView
from projections.audit import to_json

MAX_TEXT = 160  # of free text (errors, step messages) in a one-line summary

# What each promotion event says about the promotion's status.
PROMOTION_STATUS = {
    "PromotionRequested": "requested",
    "PromotionQueued": "queued",
    "PromotionDequeued": "dequeued",
    "PromotionBegun": "begun",
    "PromotionStarted": "running",
    "PromotionStepRecorded": "step",
    "PromotionSucceeded": "succeeded",
    "PromotionFailed": "failed",
    "PromotionRollbackStarted": "rolling back",
    "PromotionRolledBack": "rolled back",
    "PromotionRollbackFailed": "rollback failed",
    "PromotionCancelRequested": "cancel requested",
    "PromotionCancelled": "cancelled",
}


@dataclass(frozen=True)
class Link:
    label: str
    href: str


@dataclass(frozen=True)
class Row:
    """One event as a row of a History table."""

    event: EventView
    summary: str
    links: tuple[Link, ...]
    data: str  # the event's data as JSON (values masked)


def pretty(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return "" if value is None else str(value)


def short(value: str) -> str:
    line = " ".join(value.split())
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 1] + "…"


def names(data: dict[str, Any], field: str) -> list[str]:
    """The keys listed in ``field`` (a list of keys, or a dict of key → masked value)."""
    value = data.get(field)
    if isinstance(value, dict | list):
        return sorted(str(key) for key in value)
    return []


def env_summary(data: dict[str, Any]) -> str:
    parts = [
        f"{label} {', '.join(keys)}"
        for label, keys in (
            ("added", names(data, "added")),
            ("changed", names(data, "changed")),
            ("removed", names(data, "removed")),
        )
        if keys
    ]
    follows = " (follows the release made active)" if data.get("reason") == "promote" else ""
    line = f"env v{text(data, 'env_version')}{follows}: " + ("; ".join(parts) or "no change")
    return line + (f" — {short(text(data, 'description'))}" if data.get("description") else "")


def release_summary(data: dict[str, Any]) -> str:
    line = (
        f"release v{text(data, 'release_version')} {text(data, 'release_id')}"
        f" ({text(data, 'reason')}): build {text(data, 'build_id') or '—'},"
        f" image {text(data, 'image') or '—'}, env v{text(data, 'env_version')}"
        f" ({len(names(data, 'env'))} keys)"
    )
    if data.get("parent_id"):
        line += f", from {text(data, 'parent_id')}"
    return line


def cause_text(data: dict[str, Any]) -> str:
    cause = data.get("cause")
    if not isinstance(cause, dict):
        return ""
    return short(": ".join(part for part in (text(cause, "kind"), text(cause, "message")) if part))


def promotion_summary(event: EventView, release_of: dict[str, str]) -> str:
    data = event.data
    promotion = text(data, "promotion_id")
    release = text(data, "release_id") or release_of.get(promotion, "")
    status = PROMOTION_STATUS.get(event.type) or text(data, "status")
    line = f"promotion {promotion}" + (f" of release {release}" if release else "")
    line += f": {status}"
    if event.type == "PromotionStepRecorded":
        line += f" {text(data, 'kind')}: {short(text(data, 'message'))}"
    if event.type == "PromotionRequested" and data.get("queued"):
        line += " (queued)"
    cause = cause_text(data)
    return line + (f" — {cause}" if cause else "")


def _build(data: dict[str, Any], what: str) -> str:
    return f"build {text(data, 'build_id')} {what}"


SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "AppCreated": lambda data: "app created",
    "AppDeadlineChanged": lambda data: (
        f"promotion deadline {text(data, 'deadline_seconds')} s"
        + (" (the server's default)" if not data.get("deadline_seconds") else "")
    ),
    "EnvChanged": env_summary,
    "ReleaseCreated": release_summary,
    "ReleaseRegistered": lambda data: (
        f"release v{text(data, 'release_version')} {text(data, 'release_id')} registered"
    ),
    "ReleaseActivated": lambda data: (
        f"release {text(data, 'release_id')} live"
        f" (was {text(data, 'previous_release_id') or 'none'})"
        f" by promotion {text(data, 'promotion_id') or '—'}"
    ),
    "PromotionSettled": lambda data: (
        f"promotion {text(data, 'promotion_id')} settled: {text(data, 'status')}"
    ),
    "BuildCreated": lambda data: _build(
        data, f"created from {text(data, 'source') or text(data, 'image') or 'source'}"
    ),
    "BuildStarted": lambda data: _build(data, "started"),
    "BuildLogAppended": lambda data: _build(
        data, f"output #{text(data, 'seq')} ({text(data, 'text_length')} characters)"
    ),
    "BuildSucceeded": lambda data: _build(
        data, f"succeeded: image {text(data, 'image')} → release {text(data, 'release_id')}"
    ),
    "BuildFailed": lambda data: _build(data, f"failed: {short(text(data, 'error'))}"),
    "KeyCreated": lambda data: (
        f"key {text(data, 'name')} ({text(data, 'key_id')}) created: {text(data, 'role')}"
        + (f" for {', '.join(names(data, 'apps'))}" if names(data, "apps") else "")
    ),
    "KeyRevoked": lambda data: f"key {text(data, 'key_id')} revoked",
    "RackCreated": lambda data: "ledger started for the first time",
    "RackVersionStarted": lambda data: f"ledger version {text(data, 'version')} started",
}


def summary(event: EventView, release_of: dict[str, str]) -> str:
    """One line saying what ``event`` did (keys and ids, never values)."""
    if event.type in SUMMARIES:
        return SUMMARIES[event.type](event.data)
    if event.type in PROMOTION_STATUS:
        return promotion_summary(event, release_of)
    return short(to_json(event.data))  # a type newer than this page: its data as is


def links(event: EventView) -> tuple[Link, ...]:
    """Where a row leads: the diff of a new release against its base, the promotion, and
    what was live in the app at the event's position."""
    if not event.app:
        return ()
    base = f"/apps/{event.app}"
    found: list[Link] = []
    release = text(event.data, "release_id")
    if event.type == "ReleaseCreated" and release:
        found.append(Link("diff", f"{base}/diff?{urlencode({'to': release})}"))
    promotion = text(event.data, "promotion_id")
    if promotion:
        found.append(Link("promotion", f"{base}/promotions/{promotion}"))
    # A promotion's success comes one position before the app's ReleaseActivated (same
    # transaction): "here" would still show the release it replaced, so only the
    # activation's row offers the link.
    if event.type != "PromotionSucceeded":
        found.append(Link("what was live here", f"{base}/at?position={event.position}"))
    return tuple(found)


def rows(queries: Queries, events: list[EventView]) -> list[Row]:
    """``events`` as rows (blocking: looks up the release of promotions that need it)."""
    release_of = queries.promotion_releases(
        text(event.data, "promotion_id")
        for event in events
        if event.type in PROMOTION_STATUS and not event.data.get("release_id")
    )
    return [
        Row(event, summary(event, release_of), links(event), pretty(event.data)) for event in events
    ]
