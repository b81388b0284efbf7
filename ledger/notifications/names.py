"""The public, stable dotted name of each event type, and the patterns a target selects by.

The table below is the one place the names are made: ``promotion.succeeded`` is what a
receiver sees in ``X-Ledger-Event`` and what ``--events`` selects, whatever the event's
class is called in the code. A new audited event type must be given a name here (a unit
test fails until it is); a name, once published, is never changed or reused.

A pattern is an exact name (``build.failed``), a family and a star (``promotion.*``: every
name that starts with ``promotion.``) or ``*`` (every name).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ledger.errors import InvalidArgument

NAMES: dict[str, str] = {
    "AppArchived": "app.archived",
    "AppCreated": "app.created",
    "AppDeadlineChanged": "app.deadline_changed",
    "AppRestored": "app.restored",
    "AutoPromotionPaused": "app.auto_promotion_paused",
    "AutoPromotionResumed": "app.auto_promotion_resumed",
    "BuildCreated": "build.created",
    "BuildFailed": "build.failed",
    "BuildStarted": "build.started",
    "BuildSucceeded": "build.succeeded",
    "CommandEnded": "command.ended",
    "CommandStarted": "command.started",
    "DeliveryAccepted": "workflow.delivery_accepted",
    "EnvChanged": "env.changed",
    "JobChecksReported": "job.checks_reported",
    "JobEnded": "job.ended",
    "JobQueued": "job.queued",
    "JobStarted": "job.started",
    "JobStepEnded": "job.step_ended",
    "JobStepProgressed": "job.step_progressed",
    "JobStepStarted": "job.step_started",
    "JobWaiting": "job.waiting",
    "KeyCreated": "key.created",
    "KeyRevoked": "key.revoked",
    "LeafFormatAdopted": "rack.leaf_format_adopted",
    "LogUpgraded": "rack.log_upgraded",
    "NotificationTargetCreated": "notification.target_created",
    "NotificationTargetDeleted": "notification.target_deleted",
    "PromotionBegun": "promotion.begun",
    "PromotionCancelRequested": "promotion.cancel_requested",
    "PromotionCancelled": "promotion.cancelled",
    "PromotionDequeued": "promotion.dequeued",
    "PromotionFailed": "promotion.failed",
    "PromotionQueued": "promotion.queued",
    "PromotionRequested": "promotion.created",
    "PromotionRollbackFailed": "promotion.rollback_failed",
    "PromotionRollbackStarted": "promotion.rollback_started",
    "PromotionRolledBack": "promotion.rolled_back",
    "PromotionSettled": "promotion.settled",
    "PromotionStarted": "promotion.started",
    "PromotionStepRecorded": "promotion.step_recorded",
    "PromotionSucceeded": "promotion.succeeded",
    "RackCreated": "rack.created",
    "RackVersionStarted": "rack.version_started",
    "ReleaseActivated": "release.activated",
    "ReleaseCreated": "release.created",
    "ReleaseRegistered": "release.registered",
    "WorkflowConnected": "workflow.connected",
    "WorkflowCreated": "workflow.created",
    "WorkflowCredentialsChanged": "workflow.credentials_changed",
    "WorkflowDeleted": "workflow.deleted",
    "WorkflowDisconnected": "workflow.disconnected",
    "WorkflowJobEnded": "workflow.job_ended",
    "WorkflowJobQueued": "workflow.job_queued",
    "WorkflowSecretRotated": "workflow.secret_rotated",
    "WorkflowUpdated": "workflow.updated",
}
"""Event type (as the log names it) -> public dotted name."""

NOT_SENT = frozenset({"BuildLogAppended", "RequestRecorded"})
"""Types never sent: a build's output lines (read them with ``ledgerctl builds logs``) and
idempotency bookkeeping, which the audit timeline does not show either."""

EVERYTHING = "*"
MAX_PATTERNS = 50


def dotted(event_type: str) -> str:
    """The public name of an event type; "" for a type that is not sent."""
    return NAMES.get(event_type, "")


def names() -> list[str]:
    """Every public name, sorted."""
    return sorted(NAMES.values())


def families() -> list[str]:
    """The ``family.*`` patterns that select something, sorted."""
    return sorted({f"{name.partition('.')[0]}.*" for name in NAMES.values()})


def matches(patterns: Iterable[str], name: str) -> bool:
    """Whether the public ``name`` is selected by any of ``patterns`` ("" never is)."""
    if not name:
        return False
    for pattern in patterns:
        if pattern in (EVERYTHING, name):
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


def check_patterns(patterns: Sequence[str]) -> tuple[str, ...]:
    """The patterns, stripped, unique and sorted; an unknown one is refused in one line
    that lists the valid families, and the names of its own family when it has one."""
    cleaned = sorted({pattern.strip() for pattern in patterns if pattern.strip()})
    if not cleaned:
        raise InvalidArgument("give at least one event name or pattern (--events)")
    if len(cleaned) > MAX_PATTERNS:
        raise InvalidArgument(f"at most {MAX_PATTERNS} event patterns per target")
    valid = {EVERYTHING, *names(), *families()}
    unknown = [pattern for pattern in cleaned if pattern not in valid]
    if unknown:
        raise InvalidArgument(unknown_pattern(unknown[0], len(unknown) - 1))
    return tuple(cleaned)


def unknown_pattern(pattern: str, others: int = 0) -> str:
    """Why ``pattern`` is refused, and what would be valid (one line, a few hundred
    characters at most: the whole table is in docs/notifications.md)."""
    more = f" (and {others} more)" if others else ""
    shown = f"unknown event name or pattern {pattern[:40]!r}{more}"
    patterns = f"{', '.join(families())}, {EVERYTHING}"
    family = pattern.partition(".")[0]
    members = [name.partition(".")[2] for name in names() if name.startswith(family + ".")]
    if members:
        return f"{shown}: the {family} events are {family}.{{{', '.join(members)}}}; or {patterns}"
    return (
        f"{shown}: use a family ({patterns}) or a name such as build.failed "
        "(every name: docs/notifications.md)"
    )
