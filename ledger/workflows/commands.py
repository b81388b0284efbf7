"""Commands of workflows: what a caller asks (imperative names), plain data."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain import Meta, WorkflowSettings
from ledger.workflows.settings import SettingsChange


@dataclass(frozen=True)
class CreateWorkflow:
    name: str
    settings: WorkflowSettings
    credentials: str = ""  # for a private repository: "user:token" or a token


@dataclass(frozen=True)
class UpdateWorkflow:
    name: str
    change: SettingsChange
    credentials: str | None = None


@dataclass(frozen=True)
class RunWorkflow:
    """Start a job by hand: of ``commit``, else of the head of ``branch`` (default: the
    workflow's branch)."""

    name: str
    branch: str = ""
    commit: str = ""


@dataclass(frozen=True)
class ResumeWorkflow:
    """Resume automatic promotion of the workflow's apps (or of ``app`` only)."""

    name: str
    app: str = ""


@dataclass(frozen=True)
class WorkflowCreated:
    """The outcome of a create or a rotation: the webhook secret, shown this once ('' for
    a retried request: rotate to get a new one)."""

    name: str
    secret: str
    position: int


@dataclass(frozen=True)
class Accepted:
    """What a delivery did: the job it queued ('' for none) and why, in words."""

    job_id: str
    outcome: str
    duplicate: bool = False
    position: int = 0  # in the log: what a reader waits for to see the job


def acting_as(workflow: str) -> Meta:
    """Who the events a workflow causes on its own name are by (deliveries, polls, job
    steps): the host's delivery is authenticated, its pusher is not."""
    return Meta(actor=f"workflow {workflow}")
