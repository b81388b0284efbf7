"""A ledger with workflows on the in-memory store, a real git repository and a runtime of
our own that "builds" by reading the commit's VERSION file (image ``APP:<version>``)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.application import LedgerApplication
from ledger.building import Builder
from ledger.commands import CreateApp
from ledger.domain import Job, Meta, WorkflowSettings
from ledger.oneoff import CommandService
from ledger.promoter import Promoter
from ledger.runtime import BuildFailed, BuildLog, BuildRequest, BuiltImages
from ledger.service import LedgerService
from ledger.workflows.commands import Accepted, CreateWorkflow
from ledger.workflows.runner import JobRunner
from ledger.workflows.service import WorkflowService
from ledger.workflows.steps import JobSteps
from ledger.workflows.triggers import CheckState, Delivery, Provider, PullAction, TriggerKind
from runtime.git import GitFetcher
from tests.support.git import Repository
from tests.support.runtimes import FailingRuntime

ADMIN = Meta(actor="alice (K0000000001)")
HOOK = Meta(actor="workflow site")


class VersionRuntime(FailingRuntime):
    """Builds every service as image ``APP:<VERSION>``; a VERSION of ``broken`` fails the
    build; rollouts of images in ``fail_images`` fail (a health check that never passes)."""

    name = "version"

    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        path = request.source / "VERSION"
        version = path.read_text().strip() if path.exists() else "0"
        log.write(f"building version {version}\n")
        if version == "broken":
            raise BuildFailed("step 2/3: RUN make exited with code 2")
        tags = {s.name: f"{request.app}:{version}" for s in request.manifest.services}
        ids = {s.name: f"sha256:{version}" for s in request.manifest.services}
        return BuiltImages(tags=tags, ids=ids)


@dataclass
class World:
    ledger: LedgerApplication
    service: LedgerService
    runtime: VersionRuntime
    workflows: WorkflowService
    runner: JobRunner
    repo: Repository
    commands: CommandService

    def create(self, name: str = "site", **settings: object) -> str:
        apps = settings.pop("apps", ("shop",))
        wanted = WorkflowSettings(repository=self.repo.url, apps=tuple(apps), **settings)  # type: ignore[arg-type]
        return self.workflows.create(CreateWorkflow(name, wanted), ADMIN).secret

    def push(self, version: str, message: str = "", branch: str = "main") -> Accepted:
        """Commit VERSION and push it, then deliver the push as GitHub would."""
        sha = self.repo.commit({"VERSION": version}, message or f"release {version}", branch)
        return self.deliver(
            kind=TriggerKind.PUSH, event="push", ref=f"refs/heads/{branch}", sha=sha
        )

    def pull_request(
        self, number: int, action: PullAction, version: str = "", fork: bool = False
    ) -> Accepted:
        sha = self.repo.commit(
            {"VERSION": version or f"pr{number}"}, f"pr {number}", f"pr-{number}"
        )
        self.repo.checkout("main")
        return self.deliver(
            kind=TriggerKind.PULL_REQUEST,
            event="pull_request",
            ref=f"pr-{number}",
            sha=sha,
            pull_number=number,
            pull_action=action,
            base_ref="main",
            fork=fork,
        )

    def checks(self, sha: str, state: CheckState) -> Accepted:
        return self.deliver(kind=TriggerKind.CHECKS, event="status", sha=sha, check_state=state)

    def deliver(self, **fields: object) -> Accepted:
        delivery = Delivery(
            provider=Provider.GITHUB,
            delivery_id=str(fields.pop("delivery_id", uuid.uuid4())),
            pusher="alice",
            repository=self.repo.url,
            **fields,  # type: ignore[arg-type]
        )
        return self.workflows.accept("site", delivery, HOOK)

    def ended(self, job_id: str, timeout: float = 15.0) -> Job:
        """The job once it has ended (or fails the test)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.ledger.job(job_id)
            if job.status.ended:
                return job
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} is still {self.ledger.job(job_id).status}")

    def waiting(self, job_id: str, timeout: float = 15.0) -> Job:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.ledger.job(job_id)
            if job.status == "waiting":
                return job
            time.sleep(0.02)
        raise AssertionError(f"job {job_id} is {self.ledger.job(job_id).status}, not waiting")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    ledger = LedgerApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    runtime = VersionRuntime(fail_images={"shop:bad", "shop-pr-7:bad"})
    service = LedgerService(ledger, runtime, Promoter(ledger, runtime, max_workers=0))
    builder = Builder(ledger, runtime, tmp_path / "sources", max_workers=0)
    commands = CommandService(ledger, runtime)
    steps = JobSteps(ledger, service, builder, GitFetcher(timeout=30), commands, threading.Event())
    runner = JobRunner(ledger, steps, max_workers=4)
    workflows = WorkflowService(ledger, steps.fetcher, runner)
    service.create_app(CreateApp("shop"), ADMIN)
    yield World(ledger, service, runtime, workflows, runner, Repository(tmp_path / "git"), commands)
    runner.close()
    builder.close()
    ledger.close()
