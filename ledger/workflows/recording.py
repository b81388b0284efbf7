"""How a job's steps are recorded: each step's start and end is one short transaction.

:class:`JobRecorder` is the base of the classes that do a job's work
(:mod:`ledger.workflows.steps`, :mod:`ledger.workflows.deploying`): they say what a
step is, this records it, so every step reads the same in the log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ledger.application import Decision, LedgerApplication
from ledger.commands import Outcome
from ledger.domain import Job, Meta, StepStatus
from ledger.errors import LedgerError

POLL_SECONDS = 0.2
MAX_STEP_OUTPUT = 2000


class JobFailed(Exception):
    """A step failed: the job ends failed with this message as its cause."""


class Stopped(Exception):
    """``ledgerd`` is stopping, or the job was superseded: the job is left as it is
    (a stopping ``ledgerd`` resumes it at its next start)."""


class JobRecorder:
    """Records the steps of jobs in ``ledger``; ``stop`` is set when ``ledgerd`` stops."""

    def __init__(self, ledger: LedgerApplication, stop: threading.Event) -> None:
        self.ledger = ledger
        self.stop = stop

    def _step(self, job_id: str, meta: Meta, name: str, app: str, work: Callable[[], str]) -> None:
        """Run ``work`` as a step (once: a step that ended well is not run again; ``work``
        must be safe to run again when a restart cut it)."""
        step = self.ledger.job(job_id).step_named(name, app)
        if step is not None and done(step):
            return
        index = self._index(job_id, name, app) if step else self._start(job_id, meta, name, app)
        try:
            detail = work()
        except (LedgerError, JobFailed) as error:
            self._end(job_id, meta, index, StepStatus.FAILED, str(error))
            raise JobFailed(f"{name} of {app} failed: {error}") from None
        self._end(job_id, meta, index, StepStatus.SUCCEEDED, detail)

    def _skip(self, job_id: str, meta: Meta, name: str, app: str, detail: str) -> None:
        index = self._start(job_id, meta, name, app, detail)
        self._end(job_id, meta, index, StepStatus.SKIPPED, detail)

    def _start(self, job_id: str, meta: Meta, name: str, app: str = "", detail: str = "") -> int:
        started: list[int] = []
        self.record(job_id, lambda job: started.append(job.start_step(meta, name, app, detail)))
        return started[0]

    def _end(
        self,
        job_id: str,
        meta: Meta,
        index: int,
        status: StepStatus,
        detail: str = "",
        release_id: str = "",
        promotion_id: str = "",
    ) -> None:
        self.record(
            job_id, lambda job: job.end_step(meta, index, status, detail, release_id, promotion_id)
        )

    def _end_step_ids(self, job_id: str, meta: Meta, index: int, promotion_id: str) -> None:
        """Note the promotion on its (still running) step, so a restart waits for it."""
        self.record(job_id, lambda job: job.note_promotion(meta, index, promotion_id))

    def _index(self, job_id: str, name: str, app: str = "") -> int:
        return self.ledger.job(job_id).index_of(name, app)

    def record(self, job_id: str, change: Callable[[Job], object]) -> None:
        """Apply ``change`` to the job and save it, in one short transaction."""

        def handle() -> Decision:
            job = self.ledger.job(job_id)
            change(job)
            return Decision(Outcome(app="", job_id=job_id), (job,))

        self.ledger.execute("JobStep", job_id, Meta(actor="ledgerd"), handle)

    def _wait(self, settled: Callable[[], Any]) -> Any:
        while True:
            found = settled()
            if found is not None:
                return found
            if self.stop.wait(POLL_SECONDS):
                raise Stopped


def done(step: dict[str, str]) -> bool:
    """Whether a step recorded earlier ended well (succeeded or skipped): False while it
    runs; :class:`JobFailed` with its detail when it failed (a restart found the job
    between the step's end and the job's)."""
    if step["status"] == StepStatus.FAILED.value:
        where = f" of {step['app']}" if step["app"] else ""
        raise JobFailed(f"{step['name']}{where} failed: {step['detail']}")
    return step["status"] != StepStatus.RUNNING.value


class Tail:
    """The last characters a command wrote, for its step's detail."""

    def __init__(self) -> None:
        self._data = bytearray()

    def write(self, data: bytes) -> None:
        self._data += data
        del self._data[:-MAX_STEP_OUTPUT]

    def text(self) -> str:
        return self._data.decode("utf-8", "replace")
