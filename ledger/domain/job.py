"""The Job aggregate: one run of a workflow for one commit, and its steps.

A job is queued by a trigger (a webhook delivery, a poll, a person), runs its steps
(fetch, build, wait for CI, before-promote, promote, after-promote, per target app) and
ends succeeded, failed (with the step that failed and why) or superseded (a newer commit
of its branch came first). Every step's start and end is an event, so the job's page is
a projection of the log and a restarted ``ledgerd`` knows exactly where each job was.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.errors import FailedPrecondition
from ledger.ids import aggregate_id


class JobKind(StrEnum):
    DEPLOY = "deploy"  # a push to the workflow's branch (or a manual run)
    REVIEW = "review"  # a pull request opened or updated: deploy its review apps
    CLOSE_REVIEW = "close_review"  # a pull request closed: archive its review apps


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"  # for CI to report on the commit
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUPERSEDED = "superseded"

    @property
    def ended(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.SUPERSEDED)


class StepStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # not needed (manual promotion, paused app): the detail says why


class Job(Aggregate):
    """One run of a workflow. ``steps`` are dicts ``{name, app, status, detail, build_id,
    release_id, promotion_id}`` in the order they started."""

    TOPIC = "ledger:Job"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:JobQueued"
        job_id: str
        workflow: str
        kind: str
        trigger: dict[str, Any]  # provider, delivery_id, event, ref, sha, pusher, pull_number
        apps: list[str]
        rerun_of: str

    class Started(LedgerEvent):
        TOPIC = "ledger:JobStarted"
        job_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = JobStatus.RUNNING

    class StepStarted(LedgerEvent):
        TOPIC = "ledger:JobStepStarted"
        job_id: str
        index: int
        name: str
        detail: str
        build_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.steps = [
                *aggregate.steps,
                {
                    "name": self.name,
                    "app": self.app,
                    "status": StepStatus.RUNNING.value,
                    "detail": self.detail,
                    "build_id": self.build_id,
                    "release_id": "",
                    "promotion_id": "",
                },
            ]

    class StepEnded(LedgerEvent):
        TOPIC = "ledger:JobStepEnded"
        job_id: str
        index: int
        status: str
        detail: str
        release_id: str
        promotion_id: str

        def apply(self, aggregate: Any) -> None:
            steps = [dict(step) for step in aggregate.steps]
            step = steps[self.index]
            step.update(status=self.status, detail=self.detail or step["detail"])
            step["release_id"] = self.release_id or step["release_id"]
            step["promotion_id"] = self.promotion_id or step["promotion_id"]
            aggregate.steps = steps

    class StepProgressed(LedgerEvent):
        """A running step learnt the promotion it started (a restart waits for it)."""

        TOPIC = "ledger:JobStepProgressed"
        job_id: str
        index: int
        promotion_id: str

        def apply(self, aggregate: Any) -> None:
            steps = [dict(step) for step in aggregate.steps]
            steps[self.index]["promotion_id"] = self.promotion_id
            aggregate.steps = steps

    class ChecksReported(LedgerEvent):
        TOPIC = "ledger:JobChecksReported"
        job_id: str
        state: str
        provider: str

        def apply(self, aggregate: Any) -> None:
            aggregate.checks = self.state

    class Waiting(LedgerEvent):
        TOPIC = "ledger:JobWaiting"
        job_id: str
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = JobStatus.WAITING

    class Ended(LedgerEvent):
        TOPIC = "ledger:JobEnded"
        job_id: str
        status: str
        cause: str
        superseded_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = JobStatus(self.status)
            aggregate.cause = self.cause

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        job_id: str,
        workflow: str,
        kind: str,
        trigger: dict[str, Any],
        apps: list[str],
        rerun_of: str,
    ) -> None:
        self.job_id = job_id
        self.workflow = workflow
        self.kind = JobKind(kind)
        self.trigger = dict(trigger)
        self.apps = list(apps)
        self.rerun_of = rerun_of
        self.status = JobStatus.QUEUED
        self.steps: list[dict[str, str]] = []
        self.checks = ""
        self.cause = ""

    @staticmethod
    def create_id(job_id: str, **_: Any) -> Any:
        return aggregate_id("job", job_id)

    @classmethod
    def queue(
        cls,
        meta: Meta,
        *,
        job_id: str,
        workflow: str,
        kind: JobKind,
        trigger: dict[str, Any],
        apps: list[str],
        rerun_of: str = "",
    ) -> Job:
        return cls(
            app=apps[0] if len(apps) == 1 else "",
            actor=meta.actor,
            request_id=meta.request_id,
            job_id=job_id,
            workflow=workflow,
            kind=kind.value,
            trigger=trigger,
            apps=apps,
            rerun_of=rerun_of,
        )

    @property
    def sha(self) -> str:
        return str(self.trigger.get("sha", ""))

    def start(self, meta: Meta) -> None:
        """Queued, or waiting for CI: the job runs (again)."""
        if self.status not in (JobStatus.QUEUED, JobStatus.WAITING):
            raise FailedPrecondition(f"job {self.job_id} is {self.status}, not queued")
        self._record(self.Started, meta)

    def start_step(
        self, meta: Meta, name: str, app: str = "", detail: str = "", build_id: str = ""
    ) -> int:
        self._check_active()
        index = len(self.steps)
        self._record(
            self.StepStarted, meta, app, index=index, name=name, detail=detail, build_id=build_id
        )
        return index

    def end_step(
        self,
        meta: Meta,
        index: int,
        status: StepStatus,
        detail: str = "",
        release_id: str = "",
        promotion_id: str = "",
    ) -> None:
        step = self.steps[index]
        self._record(
            self.StepEnded,
            meta,
            step["app"],
            index=index,
            status=status.value,
            detail=detail,
            release_id=release_id,
            promotion_id=promotion_id,
        )

    def note_promotion(self, meta: Meta, index: int, promotion_id: str) -> None:
        self._record(
            self.StepProgressed,
            meta,
            self.steps[index]["app"],
            index=index,
            promotion_id=promotion_id,
        )

    def report_checks(self, meta: Meta, state: str, provider: str) -> None:
        if self.checks != state:
            self._record(self.ChecksReported, meta, state=state, provider=provider)

    def wait(self, meta: Meta, reason: str) -> None:
        if self.status != JobStatus.WAITING:
            self._record(self.Waiting, meta, reason=reason)

    def end(self, meta: Meta, status: JobStatus, cause: str = "", superseded_by: str = "") -> None:
        self._check_active()
        self._record(
            self.Ended, meta, status=status.value, cause=cause, superseded_by=superseded_by
        )

    def step_named(self, name: str, app: str = "") -> dict[str, str] | None:
        """The last step of that name (and app), if it started."""
        index = self.index_of(name, app)
        return self.steps[index] if index >= 0 else None

    def index_of(self, name: str, app: str = "") -> int:
        """Where the last step of that name (and app) is in ``steps``; -1 if none started.

        A step of no app (fetch, ci) is recorded under the job's app when it has one."""
        wanted = app or self._own_app
        for index in range(len(self.steps) - 1, -1, -1):
            if (self.steps[index]["name"], self.steps[index]["app"]) == (name, wanted):
                return index
        return -1

    @property
    def _own_app(self) -> str:
        return self.apps[0] if len(self.apps) == 1 else ""

    def _check_active(self) -> None:
        if self.status.ended:
            raise FailedPrecondition(f"job {self.job_id} has ended ({self.status})")

    def _record(self, kind: type[LedgerEvent], meta: Meta, app: str = "", **fields: Any) -> None:
        self.trigger_event(
            kind,
            app=app or self._own_app,
            actor=meta.actor,
            request_id=meta.request_id,
            job_id=self.job_id,
            **fields,
        )
