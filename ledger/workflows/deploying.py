"""The promotion part of a job: per app, before-promote commands, the promotion, and
after-promote commands, unless the workflow promotes by hand or the app's automatic
promotion is paused (:mod:`ledger.autopromote`).

A failing before-promote command stops the app's promotion before it starts; a failing
after-promote command fails the job while the release stays promoted (the job says so).
"""

from __future__ import annotations

import threading
from typing import Any

from ledger import autopromote
from ledger.application import LedgerApplication
from ledger.commands import PromoteRelease
from ledger.domain import Hook, JobKind, Meta, PromoteMode, StepStatus, Workflow
from ledger.domain.secrecy import HIDDEN
from ledger.errors import LedgerError
from ledger.oneoff import CommandService, RunCommand
from ledger.service import LedgerService
from ledger.workflows.recording import JobFailed, JobRecorder, Tail, done


class Deployer(JobRecorder):
    """Promotes a job's releases, app by app."""

    def __init__(
        self,
        ledger: LedgerApplication,
        service: LedgerService,
        commands: CommandService,
        stop: threading.Event,
    ) -> None:
        super().__init__(ledger, stop)
        self.service = service
        self.commands = commands

    def deploy(
        self, job_id: str, workflow: Workflow, app_name: str, release_id: str, meta: Meta
    ) -> None:
        """Promote ``release_id`` on ``app_name`` with the workflow's commands around it;
        after a restart, only what did not end yet (a step cut mid-run fails the job)."""
        promote = self.ledger.job(job_id).step_named("promote", app_name)
        if promote is not None and done(promote):
            if promote["status"] == StepStatus.SKIPPED.value:
                return
        else:
            if promote is None and self._skipped(job_id, workflow, app_name, release_id, meta):
                return
            if promote is None:
                self._hooks(job_id, "before-promote", app_name, release_id,
                            workflow.settings.before_promote, meta,
                            "its promotion was not started")  # fmt: skip
            self._promote(job_id, app_name, release_id, meta)
        self._hooks(job_id, "after-promote", app_name, release_id,
                    workflow.settings.after_promote, meta,
                    f"release {release_id} stays promoted")  # fmt: skip

    def _skipped(
        self, job_id: str, workflow: Workflow, app_name: str, release_id: str, meta: Meta
    ) -> bool:
        """Record the promotion skipped, and say so, when it is not the job's to do."""
        kind = self.ledger.job(job_id).kind
        if kind == JobKind.DEPLOY and workflow.settings.promote == PromoteMode.MANUAL:
            detail = f"manual: ledgerctl releases promote {release_id} -a {app_name}"
            self._skip(job_id, meta, "promote", app_name, detail)
            return True
        app = self.ledger.app(app_name)
        if kind == JobKind.DEPLOY and not autopromote.may_promote(app):
            reason = app.auto_promotion_paused or "the app is archived"
            self._skip(job_id, meta, "promote", app_name, f"paused: {reason}")
            return True
        return False

    def _hooks(
        self,
        job_id: str,
        name: str,
        app: str,
        release_id: str,
        hooks: tuple[Hook, ...],
        meta: Meta,
        consequence: str,
    ) -> None:
        """Run the commands in order; those a previous process ran are not run again (a
        command cut by a restart fails the job: it may have half run)."""
        earlier = [s for s in self.ledger.job(job_id).steps if (s["name"], s["app"]) == (name, app)]
        for number, hook in enumerate(hooks):
            if number < len(earlier):
                step = earlier[number]
                if not done(step):
                    index = self.ledger.job(job_id).steps.index(step)
                    cut = "interrupted: ledgerd stopped while it ran"
                    self._end(job_id, meta, index, StepStatus.FAILED, cut)
                    raise JobFailed(f"{name} command '{hook}' was {cut}; {consequence}")
                continue
            self._hook(job_id, name, app, release_id, hook.service, hook.command, meta,
                       consequence)  # fmt: skip

    def _promote(self, job_id: str, app: str, release_id: str, meta: Meta) -> None:
        step = self.ledger.job(job_id).step_named("promote", app)
        if step is None:
            index = self._start(job_id, meta, "promote", app, f"release {release_id}")
            command = PromoteRelease(app, release_id, f"job {job_id}", automatic=True)
            try:
                promotion_id = self.service.promote(command, meta).promotion_id
            except LedgerError as error:
                self._end(job_id, meta, index, StepStatus.FAILED, str(error))
                raise JobFailed(f"promoting {release_id} on {app} failed: {error}") from None
            self._end_step_ids(job_id, meta, index, promotion_id)
        step = self.ledger.job(job_id).step_named("promote", app) or {}
        index, promotion_id = self._index(job_id, "promote", app), step["promotion_id"]
        promotion = self._wait(lambda: self._settled_promotion(app, promotion_id))
        if promotion.status != "succeeded":
            cause = promotion.cause.get("message", "") or promotion.status
            self._end(job_id, meta, index, StepStatus.FAILED, f"{promotion.status}: {cause}")
            raise JobFailed(f"promotion {promotion_id} of {app} {promotion.status}: {cause}")
        self._end(
            job_id,
            meta,
            index,
            StepStatus.SUCCEEDED,
            f"promotion {promotion_id}",
            release_id=release_id,
            promotion_id=promotion_id,
        )

    def _settled_promotion(self, app: str, promotion_id: str) -> Any:
        promotion = self.ledger.promotion(app, promotion_id)
        return promotion if promotion.status.terminal else None

    def _hook(
        self,
        job_id: str,
        name: str,
        app: str,
        release_id: str,
        service: str,
        command: str,
        meta: Meta,
        consequence: str,
    ) -> None:
        text = f"{service}: {command}"
        index = self._start(job_id, meta, name, app, text)
        output = Tail()
        run = RunCommand(app, service, ("/bin/sh", "-c", command), release_id)
        try:
            exit_code = self.commands.run(run, meta, output, self.stop.is_set).exit_code
        except LedgerError as error:
            self._end(job_id, meta, index, StepStatus.FAILED, str(error))
            raise JobFailed(
                f"{name} command '{text}' could not run: {error}; {consequence}"
            ) from None
        env = self.ledger.release(app, release_id).env.values()
        shown = HIDDEN.text(output.text(), env)
        if exit_code != 0:
            self._end(job_id, meta, index, StepStatus.FAILED, f"exit code {exit_code}\n{shown}")
            raise JobFailed(f"{name} command '{text}' exited with {exit_code}; {consequence}")
        self._end(job_id, meta, index, StepStatus.SUCCEEDED, f"exit code 0\n{shown}")
