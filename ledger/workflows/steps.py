"""The steps of a job, each recorded as it starts and ends (see :class:`~ledger.domain.Job`).

:class:`JobSteps` does one job's work for the :class:`~ledger.workflows.runner.JobRunner`:
fetch the commit, build it for each app (through the build-from-source path, so a
workflow's build is an ordinary build with its provenance), wait for CI when asked, and
for each app run the before-promote commands, promote (unless promotion is manual or
paused, :mod:`ledger.autopromote`), run the after-promote commands; or, for a closed pull
request, stop and archive its review apps. A step that fails raises :class:`JobFailed`,
which ends the job with that cause. Every step is safe to resume after a restart: a step
that already ended is not run again, and a build or promotion begun is waited for.
"""

from __future__ import annotations

import tarfile
import tempfile
import threading
from functools import partial
from pathlib import Path

from ledger.application import Decision, LedgerApplication
from ledger.building import Builder
from ledger.commands import Outcome
from ledger.domain import Build, JobKind, Meta, StepStatus, Workflow
from ledger.domain.build import BuildStatus
from ledger.errors import LedgerError
from ledger.ids import BUILD, new_id
from ledger.oneoff import CommandService
from ledger.service import LedgerService
from ledger.workflows import review
from ledger.workflows.commands import acting_as
from ledger.workflows.deploying import Deployer
from ledger.workflows.ports import FetchFailed, SourceFetcher
from ledger.workflows.recording import JobFailed, JobRecorder, Stopped, done


class JobSteps(JobRecorder):
    """The work of one job; ``stop`` is set when ``ledgerd`` stops."""

    def __init__(
        self,
        ledger: LedgerApplication,
        service: LedgerService,
        builder: Builder,
        fetcher: SourceFetcher,
        commands: CommandService,
        stop: threading.Event,
    ) -> None:
        super().__init__(ledger, stop)
        self.builder = builder
        self.fetcher = fetcher
        self.deployer = Deployer(ledger, service, commands, stop)

    # -- the job ------------------------------------------------------------------------

    def run(self, job_id: str, wake: threading.Event) -> None:
        job = self.ledger.job(job_id)
        workflow = self.ledger.workflow(job.workflow)
        meta = acting_as(workflow.name)
        if job.kind == JobKind.CLOSE_REVIEW:
            for app in job.apps:
                close = partial(review.close_app, self, app, meta)
                self._step(job_id, meta, "archive", app, close)
            return
        if job.kind == JobKind.REVIEW:
            for app in job.apps:
                open_app = partial(review.open_app, self, workflow, app, meta)
                self._step(job_id, meta, "review app", app, open_app)
        releases = self._build_all(job_id, workflow, meta)
        workflow = self.ledger.workflow(job.workflow)  # as it is now, after the build
        if workflow.settings.wait_for_ci and job.kind == JobKind.DEPLOY:
            self._wait_for_ci(job_id, meta, wake)
        for app, release_id in releases.items():
            self.deployer.deploy(job_id, workflow, app, release_id, meta)

    # -- fetch and build ----------------------------------------------------------------

    def _build_all(self, job_id: str, workflow: Workflow, meta: Meta) -> dict[str, str]:
        job = self.ledger.job(job_id)
        pending = [app for app in job.apps if not _built(job.step_named("build", app))]
        fetched: tuple[Path, dict[str, str]] | None = None
        self.builder.sources.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{job_id}-", dir=self.builder.sources) as work:
            if any(job.step_named("build", app) is None for app in pending):
                fetched = self._fetch(job_id, workflow, Path(work), meta)
            for app in pending:
                self._build(job_id, app, fetched, meta)
        job = self.ledger.job(job_id)
        return {app: (job.step_named("build", app) or {})["release_id"] for app in job.apps}

    def _fetch(
        self, job_id: str, workflow: Workflow, work: Path, meta: Meta
    ) -> tuple[Path, dict[str, str]]:
        """The commit's tree as a source tarball, and its provenance."""
        job = self.ledger.job(job_id)
        tree = work / "tree"
        tree.mkdir()
        index = self._start(
            job_id, meta, "fetch", detail=f"{job.sha[:12]} of {workflow.settings.repository}"
        )
        try:
            commit = self.fetcher.fetch(
                workflow.settings.repository, job.sha, tree, workflow.credentials
            )
        except (FetchFailed, LedgerError) as error:
            self._end(job_id, meta, index, StepStatus.FAILED, str(error))
            raise JobFailed(f"fetching {job.sha[:12]} failed: {error}") from None
        tarball = work / "source.tar.gz"
        with tarfile.open(tarball, "w:gz") as archive:
            archive.add(tree, arcname=".")
        provenance = {
            "repository": workflow.settings.repository,
            "ref": str(job.trigger.get("ref", "")),
            "sha": commit.sha,
            "author": commit.author[:200],
            "message": commit.message[:2000],
        }
        if commit.committed_at:
            provenance["committed_at"] = commit.committed_at[:40]
        first_line = commit.message.strip().splitlines()[0] if commit.message.strip() else ""
        self._end(
            job_id, meta, index, StepStatus.SUCCEEDED, f"{commit.sha[:12]} {first_line}"[:200]
        )
        return tarball, provenance

    def _build(
        self, job_id: str, app: str, fetched: tuple[Path, dict[str, str]] | None, meta: Meta
    ) -> None:
        step = self.ledger.job(job_id).step_named("build", app)
        if step is None:
            assert fetched is not None  # fetched whenever a build step is missing
            build_id = self._start_build(job_id, app, *fetched, meta)
        else:
            build_id = step["build_id"]
        build = self._wait(lambda: self._settled_build(build_id))
        index = self._index(job_id, "build", app)
        if build.status != BuildStatus.SUCCEEDED:
            self._end(job_id, meta, index, StepStatus.FAILED, build.error)
            raise JobFailed(f"build {build_id} of {app} failed: {build.error}")
        self._end(
            job_id,
            meta,
            index,
            StepStatus.SUCCEEDED,
            f"build {build_id}",
            release_id=build.release_id,
        )

    def _start_build(
        self, job_id: str, app: str, tarball: Path, provenance: dict[str, str], meta: Meta
    ) -> str:
        """Record the build (with its provenance) and its job step in ONE transaction, then
        hand it to the builder: a restart finds the step and waits for that build."""
        build_id = new_id(BUILD)
        source = self.builder.source_path(build_id)
        source.write_bytes(tarball.read_bytes())
        message = provenance["message"].strip().splitlines()
        description = f"{provenance['sha'][:7]} {message[0] if message else ''}".strip()[:1000]

        def handle() -> Decision:
            target = self.ledger.app(app)
            target.check_not_archived()
            build = Build.create(
                meta,
                app=app,
                build_id=build_id,
                description=description,
                source=f"git:{provenance['sha']}",
                image="",
                commit=provenance,
            )
            build.start(meta)
            job = self.ledger.job(job_id)
            job.start_step(meta, "build", app, f"build {build_id}", build_id=build_id)
            return Decision(Outcome(app=app, build_id=build_id), (build, job))

        try:
            self.ledger.execute("WorkflowBuild", build_id, meta, handle, app)
        except LedgerError as error:
            source.unlink(missing_ok=True)
            raise JobFailed(f"cannot build {app}: {error}") from None
        self.builder.submit(build_id)
        return build_id

    def _settled_build(self, build_id: str) -> Build | None:
        build = self.ledger.build("", build_id)
        return build if build.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED) else None

    # -- CI -----------------------------------------------------------------------------

    def _wait_for_ci(self, job_id: str, meta: Meta, wake: threading.Event) -> None:
        job = self.ledger.job(job_id)
        step = job.step_named("ci")
        if step is not None and done(step):
            return
        if step is not None:
            index = self._index(job_id, "ci")
        else:
            detail = f"waiting for CI to pass on {job.sha[:12]}"
            index = self._start(job_id, meta, "ci", detail=detail)
        if not self.ledger.job(job_id).checks:
            self.record(job_id, lambda j: j.wait(meta, f"waiting for CI on {job.sha[:12]}"))
        while not self.ledger.job(job_id).checks:
            if self.stop.is_set() or self.ledger.job(job_id).status.ended:
                raise Stopped  # ledgerd stops, or a newer commit superseded this job
            wake.wait(1.0)
            wake.clear()
        self.record(job_id, lambda j: j.start(meta))
        state = self.ledger.job(job_id).checks
        if state != "success":
            self._end(job_id, meta, index, StepStatus.FAILED, f"CI reported {state}")
            raise JobFailed(f"CI reported {state} on {job.sha[:12]}: nothing promoted")
        self._end(job_id, meta, index, StepStatus.SUCCEEDED, "CI passed")


def _built(step: dict[str, str] | None) -> bool:
    """Whether an app's build step ended well (see :func:`done`); False if none began."""
    return step is not None and done(step)
