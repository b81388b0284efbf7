"""Use cases of workflows: define them, and turn deliveries into jobs.

:class:`WorkflowService` is what the entry points call (the gRPC API, the console, the
webhook endpoint). Each command is one transaction through
:class:`~ledger.application.LedgerApplication`; the jobs it queues are handed to a
:class:`JobDriver` (the :class:`~ledger.workflows.runner.JobRunner`) to run. What a
delivery starts is decided by :mod:`ledger.workflows.triggering`.
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol
from uuid import UUID

from ledger import autopromote
from ledger.application import Decision, LedgerApplication
from ledger.commands import Outcome
from ledger.domain import App, DeliveryRecord, Meta, Workflow
from ledger.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from ledger.workflows import triggering
from ledger.workflows.commands import (
    Accepted,
    CreateWorkflow,
    ResumeWorkflow,
    RunWorkflow,
    UpdateWorkflow,
    WorkflowCreated,
    acting_as,
)
from ledger.workflows.ports import FetchFailed, SourceFetcher
from ledger.workflows.settings import (
    check_branch,
    check_credentials,
    check_settings,
    check_workflow_name,
)
from ledger.workflows.triggers import Delivery, Provider, TriggerKind

SECRET_BYTES = 32
log = logging.getLogger(__name__)


class JobDriver(Protocol):
    """What runs the jobs the use cases queue (the JobRunner)."""

    def submit(self, job_id: str) -> object: ...

    def wake(self, job_id: str) -> None: ...


class WorkflowService:
    """Workflow commands, each atomic and idempotent by request id."""

    def __init__(self, ledger: LedgerApplication, fetcher: SourceFetcher, jobs: JobDriver) -> None:
        self.ledger = ledger
        self.fetcher = fetcher
        self.jobs = jobs

    # -- definitions --------------------------------------------------------------------

    def create(self, command: CreateWorkflow, meta: Meta) -> WorkflowCreated:
        """Record a workflow and connect it to its apps; its webhook secret is returned
        this once (stored encrypted with the log, shown by no view)."""
        check_workflow_name(command.name)
        settings = check_settings(command.settings)
        check_credentials(command.credentials)
        secret = secrets.token_urlsafe(SECRET_BYTES)

        def handle() -> Decision:
            if self.ledger.exists(Workflow.create_id(command.name)):
                raise AlreadyExists(f"workflow {command.name} already exists")
            apps = self._apps(settings.apps)
            workflow = Workflow.create(meta, command.name, settings, secret, command.credentials)
            for app in apps:
                app.connect_workflow(meta, command.name)
            return Decision(Outcome(app="", workflow=command.name), (workflow, *apps))

        outcome = self.ledger.execute("CreateWorkflow", command, meta, handle)
        shown = secret if self.ledger.workflow(command.name).secret == secret else ""
        return WorkflowCreated(command.name, shown, outcome.position)

    def update(self, command: UpdateWorkflow, meta: Meta) -> Outcome:
        """Change settings (apps connected and disconnected accordingly) or credentials."""
        if command.credentials is not None:
            check_credentials(command.credentials)

        def handle() -> Decision:
            workflow = self.ledger.workflow(command.name)
            workflow.check_live()
            before = set(workflow.settings.apps)
            workflow.update(meta, command.change.applied_to(workflow.settings))
            if command.credentials is not None:
                workflow.change_credentials(meta, command.credentials)
            after = set(workflow.settings.apps)
            apps = self._apps(tuple(sorted(before ^ after)), archived_ok=True)
            for app in apps:
                if app.name in after:
                    app.check_not_archived()
                    app.connect_workflow(meta, workflow.name)
                else:
                    app.disconnect_workflow(meta, workflow.name)
            return Decision(Outcome(app="", workflow=workflow.name), (workflow, *apps))

        return self.ledger.execute("UpdateWorkflow", command, meta, handle)

    def rotate_secret(self, name: str, meta: Meta) -> WorkflowCreated:
        secret = secrets.token_urlsafe(SECRET_BYTES)

        def handle() -> Decision:
            workflow = self.ledger.workflow(name)
            workflow.rotate_secret(meta, secret)
            return Decision(Outcome(app="", workflow=name), (workflow,))

        outcome = self.ledger.execute("RotateWorkflowSecret", name, meta, handle)
        shown = secret if self.ledger.workflow(name).secret == secret else ""
        return WorkflowCreated(name, shown, outcome.position)

    def delete(self, name: str, meta: Meta) -> Outcome:
        """Delete a workflow (its history stays); running jobs end on their own."""

        def handle() -> Decision:
            workflow = self.ledger.workflow(name)
            workflow.delete(meta)
            apps = self._apps(workflow.settings.apps, archived_ok=True)
            for app in apps:
                app.disconnect_workflow(meta, name)
            return Decision(Outcome(app="", workflow=name), (workflow, *apps))

        return self.ledger.execute("DeleteWorkflow", name, meta, handle)

    def resume(self, command: ResumeWorkflow, meta: Meta) -> Outcome:
        """Resume automatic promotion of the workflow's apps (or one of them)."""

        def handle() -> Decision:
            workflow = self.ledger.workflow(command.name)
            workflow.check_live()
            names = workflow.settings.apps
            if command.app and command.app not in names:
                raise InvalidArgument(f"workflow {command.name} does not deploy {command.app}")
            apps = self._apps((command.app,) if command.app else names)
            resumed = [app for app in apps if autopromote.resume(app, meta)]
            if not resumed:
                raise FailedPrecondition(f"automatic promotion of {', '.join(names)} is not paused")
            return Decision(Outcome(app=command.app, workflow=command.name), tuple(resumed))

        return self.ledger.execute("ResumeWorkflow", command, meta, handle)

    # -- jobs ---------------------------------------------------------------------------

    def secret_of(self, name: str) -> str:
        """The webhook secret of a live workflow (raises NotFound for unknown/deleted)."""
        workflow = self.ledger.workflow(name)
        if workflow.deleted:
            raise FailedPrecondition(f"workflow {name} was deleted")
        return workflow.secret

    def accept(self, name: str, delivery: Delivery, meta: Meta) -> Accepted:
        """Record a verified delivery and what it starts (a job, CI results for jobs
        waiting on them, or nothing, saying why). A delivery seen before does nothing."""
        record_id = DeliveryRecord.create_id(name, delivery.provider.value, delivery.delivery_id)
        if self.ledger.exists(record_id):
            return self._duplicate(record_id)
        woken: list[str] = []

        def handle() -> Decision:
            if self.ledger.exists(record_id):  # a concurrent copy of the delivery won
                raise AlreadyExists("delivery seen before")
            workflow = self.ledger.workflow(name)
            workflow.check_live()
            decided = triggering.decide(self.ledger, workflow, delivery, meta)
            woken[:] = decided.woken
            record = triggering.record(workflow, delivery, decided, meta)
            changed = (workflow, *decided.changed, record)
            return Decision(Outcome(app="", job_id=decided.job_id, workflow=name), changed)

        try:
            outcome = self.ledger.execute("AcceptDelivery", delivery, meta, handle)
        except AlreadyExists:
            return self._duplicate(record_id)
        self._started(outcome.job_id, woken)
        record: DeliveryRecord = self.ledger.repository.get(record_id)
        return Accepted(outcome.job_id, record.outcome, position=outcome.position)

    def run(self, command: RunWorkflow, meta: Meta) -> Outcome:
        """A job by hand, of a commit or of a branch's head as the repository has it now.

        A retry is answered before the repository is asked again: its head may have moved
        (or be unreachable) since, and the original job is the answer all the same."""
        if (original := self.ledger.answered("RunWorkflow", command, meta)) is not None:
            return original
        workflow = self.ledger.workflow(command.name)
        workflow.check_live()
        branch = check_branch(command.branch or workflow.settings.branch)
        sha = command.commit
        if sha and not triggering.is_sha(sha):
            raise InvalidArgument("--commit is a full 40-character commit sha")
        if not sha:
            try:
                sha = self._head(workflow, branch)
            except FetchFailed as error:
                raise FailedPrecondition(f"cannot read the repository: {error}") from None
            if not sha:
                raise FailedPrecondition(f"the repository has no branch {branch}")
        delivery = Delivery(
            provider=Provider.MANUAL,
            delivery_id=meta.request_id or sha,
            event="run",
            kind=TriggerKind.PUSH,
            ref=f"refs/heads/{branch}",
            sha=sha,
            pusher=meta.actor,
        )

        def handle() -> Decision:
            workflow = self.ledger.workflow(command.name)
            job, changed = triggering.queue_deploy(self.ledger, workflow, delivery, meta)
            return Decision(Outcome(app="", job_id=job.job_id, workflow=command.name), changed)

        outcome = self.ledger.execute("RunWorkflow", command, meta, handle)
        self._started(outcome.job_id, [])
        return outcome

    def poll(self, name: str) -> Accepted | None:
        """Read the head of the workflow's branch and accept it as a delivery ``poll:<sha>``
        (each commit starts one job, however often it is seen); None when the repository
        cannot be read (logged) or has no such branch."""
        workflow = self.ledger.workflow(name)
        workflow.check_live()
        branch = workflow.settings.branch
        try:
            sha = self._head(workflow, branch)
        except FetchFailed as error:
            log.warning("polling workflow %s: %s", name, error)
            return None
        if not sha:
            return None
        delivery = Delivery(
            provider=Provider.POLL,
            delivery_id=f"poll:{sha}",
            event="poll",
            kind=TriggerKind.PUSH,
            ref=f"refs/heads/{branch}",
            sha=sha,
            repository=workflow.settings.repository,
        )
        return self.accept(name, delivery, acting_as(name))

    def rerun(self, job_id: str, meta: Meta) -> Outcome:
        """A new job with the trigger (commit, pull request) of an ended one."""

        def handle() -> Decision:
            old = self.ledger.job(job_id)
            if not old.status.ended:
                raise FailedPrecondition(f"job {job_id} is {old.status}: wait for it to end")
            workflow = self.ledger.workflow(old.workflow)
            job, changed = triggering.requeue(self.ledger, workflow, old, meta)
            return Decision(Outcome(app="", job_id=job.job_id, workflow=workflow.name), changed)

        outcome = self.ledger.execute("RerunJob", job_id, meta, handle)
        self._started(outcome.job_id, [])
        return outcome

    # -- helpers ------------------------------------------------------------------------

    def _head(self, workflow: Workflow, branch: str) -> str:
        return self.fetcher.head(workflow.settings.repository, branch, workflow.credentials)

    def _apps(self, names: tuple[str, ...], archived_ok: bool = False) -> list[App]:
        apps = [self.ledger.app(name) for name in names]
        for app in apps:
            if not archived_ok:
                app.check_not_archived()
        return apps

    def _duplicate(self, record_id: UUID) -> Accepted:
        record: DeliveryRecord = self.ledger.repository.get(record_id)
        return Accepted(record.job_id, record.outcome, duplicate=True, position=self.ledger.head())

    def _started(self, job_id: str, woken: list[str]) -> None:
        if job_id:
            self.jobs.submit(job_id)
        for waiting in woken:
            self.jobs.wake(waiting)
