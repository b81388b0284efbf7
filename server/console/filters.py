"""How the console shows times, durations, statuses and commits (Jinja filters and
globals)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from ledger.queries.app_status import cause_of, failed, outcome
from ledger.queries.release_facts import action_on


def when(value: datetime | None) -> str:
    """``2026-11-27 09:14:03 UTC`` (every time on the console is UTC, like the log)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    """Machine-readable time for ``<time datetime=…>``."""
    return value.astimezone(UTC).isoformat() if value is not None else ""


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """``5 s ago``, ``3 min ago``, ``2 h ago``, ``4 d ago``."""
    if value is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - value).total_seconds()))
    return f"{_span(seconds)} ago"


def relative(value: datetime, now: datetime | None = None) -> str:
    """How long ago, as people say it: ``16 s ago``, ``3 h ago`` within a day, then the
    day (``on 2 Dec``; ``on 2 Dec 2025`` in another year)."""
    current = now or datetime.now(UTC)
    seconds = (current - value).total_seconds()
    if seconds < 86400:
        return ago(value, current)
    day = value.astimezone(UTC)
    same_year = day.year == current.astimezone(UTC).year
    return f"on {day.day} {day:%b}" + ("" if same_year else f" {day.year}")


def moment(value: datetime | None, now: datetime | None = None) -> Markup:
    """Every time the console shows: relative (:func:`relative`) inside ``<time>``, with
    the exact UTC time machine-readable and on hover; an em dash for none."""
    if value is None:
        return Markup('<span class="muted">—</span>')
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        iso(value), when(value), relative(value, now)
    )


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long from ``start`` to ``end`` (to now while running): ``1.4 s``, ``2 min 5 s``."""
    if start is None:
        return ""
    seconds = ((end or datetime.now(UTC)) - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    return _span(int(seconds))


def _span(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest and minutes < 10 else f"{minutes} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


STATUS_CLASS = {
    "succeeded": "ok",
    "created": "wait",
    "pending": "wait",
    "queued": "wait",
    "waiting": "wait",
    "running": "busy",
    "rolling_back": "bad",
    "failed": "bad",
    "rolled_back": "bad",
    "rollback_failed": "bad",
    "cancelled": "off",
    "superseded": "off",
    "skipped": "off",
}


def status_class(status: str) -> str:
    """The CSS class of a build or promotion status badge."""
    return STATUS_CLASS.get(status, "off")


TASK_CLASS = {
    "running": "ok",
    "new": "wait",
    "pending": "wait",
    "assigned": "wait",
    "accepted": "wait",
    "preparing": "wait",
    "ready": "wait",
    "starting": "wait",
    "created": "wait",
    "restarting": "wait",
    "failed": "bad",
    "rejected": "bad",
    "orphaned": "bad",
    "dead": "bad",
}


def task_class(state: str, message: str = "") -> str:
    """The CSS class of a task's state badge, from the runtime's words (Swarm's task
    states, Docker's container states): a task with a message ended when it was meant to
    run (it failed); one stopped on purpose (shutdown, complete) is "off"."""
    return "bad" if message else TASK_CLASS.get(state, "off")


def first_line(text: str | None) -> str:
    """The first non-blank line of a (commit) message, stripped; '' for none."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def short_sha(sha: str | None) -> str:
    """A commit sha as people quote it: its first 7 characters."""
    return (sha or "")[:7]


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "iso": iso,
    "ago": ago,
    "moment": moment,
    "status_class": status_class,
    "task_class": task_class,
    "first_line": first_line,
    "short_sha": short_sha,
    "outcome": outcome,
    "failed": failed,
    "cause": cause_of,
}
GLOBALS: dict[str, Any] = {"duration": duration, "action_on": action_on}
