"""The Workflow aggregate: a repository and branch connected to apps, and how it deploys.

A workflow's settings are recorded whole on every change (so any past version reads
without replaying edits). Its webhook secret and its repository credentials are declared
:data:`Unlisted`: stored encrypted with the rest of the log, shown by no view. The
workflow also keeps the jobs it has in flight per branch, so a newer commit can
supersede them in the transaction that queues it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.domain.secrecy import SecretValues, Unlisted
from ledger.errors import FailedPrecondition
from ledger.ids import aggregate_id


class PromoteMode(StrEnum):
    AUTO = "auto"  # promote each built release when the job gets there
    MANUAL = "manual"  # build and release; a person promotes


@dataclass(frozen=True)
class Hook:
    """A one-off command run before or after an app's promotion: ``service: command``."""

    service: str
    command: str

    def __str__(self) -> str:
        return f"{self.service}: {self.command}"


@dataclass(frozen=True)
class WorkflowSettings:
    """Everything a workflow is, but its name and secrets (checked in
    :mod:`ledger.workflows.settings`)."""

    repository: str
    branch: str = "main"
    apps: tuple[str, ...] = ()
    promote: PromoteMode = PromoteMode.AUTO
    before_promote: tuple[Hook, ...] = ()
    after_promote: tuple[Hook, ...] = ()
    review_apps: bool = False
    review_env: dict[str, str] = field(default_factory=dict)
    wait_for_ci: bool = False
    poll_seconds: int = 0  # 0: no polling (webhooks only)
    allow_forks: bool = False  # review apps for pull requests from forks

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("review_env")  # recorded apart, as a secret mapping
        data["apps"] = list(self.apps)
        data["promote"] = self.promote.value
        data["before_promote"] = [asdict(h) for h in self.before_promote]
        data["after_promote"] = [asdict(h) for h in self.after_promote]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], review_env: dict[str, str]) -> WorkflowSettings:
        return cls(
            repository=data["repository"],
            branch=data["branch"],
            apps=tuple(data["apps"]),
            promote=PromoteMode(data["promote"]),
            before_promote=tuple(Hook(**h) for h in data["before_promote"]),
            after_promote=tuple(Hook(**h) for h in data["after_promote"]),
            review_apps=data["review_apps"],
            review_env=dict(review_env),
            wait_for_ci=data["wait_for_ci"],
            poll_seconds=data["poll_seconds"],
            allow_forks=data["allow_forks"],
        )


class Workflow(Aggregate):
    """A repository + branch that builds and deploys one or more apps."""

    TOPIC = "ledger:Workflow"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:WorkflowCreated"
        name: str
        settings: dict[str, Any]
        review_env: SecretValues
        secret: Unlisted
        credentials: Unlisted

    class Updated(LedgerEvent):
        TOPIC = "ledger:WorkflowUpdated"
        name: str
        settings: dict[str, Any]
        review_env: SecretValues

        def apply(self, aggregate: Any) -> None:
            aggregate.settings = WorkflowSettings.from_dict(self.settings, self.review_env)

    class SecretRotated(LedgerEvent):
        TOPIC = "ledger:WorkflowSecretRotated"
        name: str
        secret: Unlisted

        def apply(self, aggregate: Any) -> None:
            aggregate.secret = self.secret

    class CredentialsChanged(LedgerEvent):
        TOPIC = "ledger:WorkflowCredentialsChanged"
        name: str
        credentials: Unlisted

        def apply(self, aggregate: Any) -> None:
            aggregate.credentials = self.credentials

    class Deleted(LedgerEvent):
        TOPIC = "ledger:WorkflowDeleted"
        name: str

        def apply(self, aggregate: Any) -> None:
            aggregate.deleted = True

    class JobQueued(LedgerEvent):
        TOPIC = "ledger:WorkflowJobQueued"
        name: str
        job_id: str
        lane: str  # jobs of one lane (a branch, a pull request) supersede each other

        def apply(self, aggregate: Any) -> None:
            aggregate.jobs = {**aggregate.jobs, self.job_id: self.lane}

    class JobEnded(LedgerEvent):
        TOPIC = "ledger:WorkflowJobEnded"
        name: str
        job_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.jobs = {k: v for k, v in aggregate.jobs.items() if k != self.job_id}

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        name: str,
        settings: dict[str, Any],
        review_env: dict[str, str],
        secret: str,
        credentials: str,
    ) -> None:
        self.name = name
        self.settings = WorkflowSettings.from_dict(settings, review_env)
        self.secret = secret
        self.credentials = credentials
        self.deleted = False
        self.jobs: dict[str, str] = {}

    @staticmethod
    def create_id(name: str, **_: Any) -> Any:
        return aggregate_id("workflow", name)

    @classmethod
    def create(
        cls,
        meta: Meta,
        name: str,
        settings: WorkflowSettings,
        secret: str,
        credentials: str = "",
    ) -> Workflow:
        return cls(
            app="",
            actor=meta.actor,
            request_id=meta.request_id,
            name=name,
            settings=settings.to_dict(),
            review_env=dict(settings.review_env),
            secret=secret,
            credentials=credentials,
        )

    def update(self, meta: Meta, settings: WorkflowSettings) -> bool:
        self.check_live()
        if settings == self.settings:
            return False
        self._record(
            self.Updated, meta, settings=settings.to_dict(), review_env=dict(settings.review_env)
        )
        return True

    def rotate_secret(self, meta: Meta, secret: str) -> None:
        self.check_live()
        self._record(self.SecretRotated, meta, secret=secret)

    def change_credentials(self, meta: Meta, credentials: str) -> bool:
        self.check_live()
        if credentials == self.credentials:
            return False
        self._record(self.CredentialsChanged, meta, credentials=credentials)
        return True

    def delete(self, meta: Meta) -> None:
        self.check_live()
        self._record(self.Deleted, meta)

    def queue_job(self, meta: Meta, job_id: str, lane: str) -> list[str]:
        """Record a new job; return the jobs of its lane it supersedes (older, in flight)."""
        self.check_live()
        older = [job for job, its_lane in self.jobs.items() if its_lane == lane]
        self._record(self.JobQueued, meta, job_id=job_id, lane=lane)
        return older

    def end_job(self, meta: Meta, job_id: str) -> None:
        if job_id in self.jobs:
            self._record(self.JobEnded, meta, job_id=job_id)

    def check_live(self) -> None:
        if self.deleted:
            raise FailedPrecondition(f"workflow {self.name} was deleted")

    def _record(self, kind: type[LedgerEvent], meta: Meta, **fields: Any) -> None:
        self.trigger_event(
            kind, app="", actor=meta.actor, request_id=meta.request_id, name=self.name, **fields
        )
