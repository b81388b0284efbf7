"""What a rollout reports: the kinds of its steps, and why it failed (a structured cause).

The words runtimes, the promoter, the API and the console share: a runtime reports steps
of a :class:`StepKind` and returns a :class:`Cause` of a :class:`CauseKind`; the promoter
records them on the promotion.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from ledger.domain.secrecy import HIDDEN


class CauseKind(StrEnum):
    """What kind of failure ended a promotion (or its rollback): the words runtimes, the
    promoter, the API and the console share."""

    PROCESS_FAILED = "process_failed"  # a process did not start, or exited
    HEALTH_CHECK_FAILED = "health_check_failed"  # with the last response
    DEADLINE_EXCEEDED = "deadline_exceeded"
    CANCELLED = "cancelled"  # by a person
    RUNTIME_ERROR = "runtime_error"  # the runtime itself failed (engine unreachable, a bug)
    UNSCHEDULABLE = "unschedulable"  # no node could run it (constraints, resources)


class StepKind(StrEnum):
    """What a runtime reports while it rolls out or restores (one event per step)."""

    RECORDED = "recorded"  # the record runtime: the release is recorded as running
    RESTORED = "restored"  # the record runtime: the previous release is recorded again
    CONTAINER_ADOPTED = "container_adopted"  # found running from an interrupted attempt
    CONTAINER_STARTED = "container_started"
    CONTAINER_HEALTHY = "container_healthy"
    CONTAINER_FAILED = "container_failed"
    CONTAINER_STOPPED = "container_stopped"
    CONTAINER_REMOVED = "container_removed"
    SERVICE_UPDATED = "service_updated"  # a cluster's service given the release's spec
    UPDATE_STATE = "update_state"  # the cluster's own account of a rolling update changed
    ENGINE_LOST = "engine_lost"  # the engine stopped answering: the runtime waits for it
    ENGINE_RECONNECTED = "engine_reconnected"  # it answers again: the rollout carries on

    @property
    def failure(self) -> bool:
        """A step that reports something going wrong (the rollout may still go on)."""
        return self in _FAILURE_STEPS

    @property
    def progress(self) -> bool:
        """A step that brings the release it works on closer to running."""
        return self in _PROGRESS_STEPS


_FAILURE_STEPS = frozenset({StepKind.CONTAINER_FAILED, StepKind.ENGINE_LOST})
_PROGRESS_STEPS = frozenset(
    {
        StepKind.RECORDED,
        StepKind.RESTORED,
        StepKind.CONTAINER_STARTED,
        StepKind.CONTAINER_HEALTHY,
        StepKind.SERVICE_UPDATED,
    }
)


@dataclass(frozen=True)
class Cause:
    """Why a promotion (or its rollback) failed, structured for machines and people."""

    kind: CauseKind
    message: str
    service: str = ""
    container: str = ""
    exit_code: int = 0
    last_response: str = ""
    output: str = ""
    node: str = ""  # where it happened, on a runtime of several nodes

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": CauseKind(self.kind).value}

    def hiding(self, values: Iterable[str]) -> Cause:
        """This cause with the env ``values`` hidden in its text (what a process wrote, a
        health check's answer: they may hold the app's secrets)."""
        secrets = list(values)
        return replace(
            self,
            message=HIDDEN.text(self.message, secrets),
            service=HIDDEN.text(self.service, secrets),
            container=HIDDEN.text(self.container, secrets),
            last_response=HIDDEN.text(self.last_response, secrets),
            output=HIDDEN.text(self.output, secrets),
            node=HIDDEN.text(self.node, secrets),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cause:
        return cls(**{**data, "kind": CauseKind(data["kind"])})
