"""Runs jobs in the background, one thread per job, one job at a time per workflow.

A job can take minutes (a fetch, a ``docker build``, a health-checked promotion, CI),
so jobs run in worker threads; only the short transactions recording their steps take
the ledger's locks. Jobs of one workflow run one after the other, in the order queued
(a newer commit has already superseded the older queued ones: see
:mod:`ledger.workflows.triggering`). When several ``ledgerd`` share one ledger, the
process running a job holds its claim, so no job runs twice. At start, :meth:`resume`
takes the jobs a stopped or killed ``ledgerd`` left: each continues from its last
recorded step (:mod:`ledger.workflows.steps`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from ledger.application import Decision, LedgerApplication
from ledger.commands import Outcome
from ledger.domain import JobStatus, Meta
from ledger.errors import FailedPrecondition
from ledger.promoter import Claims, LocalClaims
from ledger.workflows.recording import JobFailed, Stopped
from ledger.workflows.steps import JobSteps

log = logging.getLogger(__name__)
SYSTEM = Meta(actor="ledgerd")


class JobRunner:
    """Runs queued jobs to their end (``max_workers=0``: inside ``submit``, for tests)."""

    def __init__(
        self,
        ledger: LedgerApplication,
        steps: JobSteps,
        max_workers: int = 8,
        claims: Claims | None = None,
    ) -> None:
        self.ledger = ledger
        self.steps = steps
        self.claims: Claims = claims or LocalClaims()
        self._executor = (
            ThreadPoolExecutor(max_workers, thread_name_prefix="job") if max_workers else None
        )
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}  # job id → its wake-up event
        self._lanes: dict[str, threading.Lock] = {}  # workflow → one job at a time

    def submit(self, job_id: str) -> Future[None]:
        with self._lock:
            if job_id in self._running:
                done: Future[None] = Future()
                done.set_result(None)
                return done
            self._running[job_id] = threading.Event()
        if self._executor is None:
            self._run_safely(job_id)
            finished: Future[None] = Future()
            finished.set_result(None)
            return finished
        return self._executor.submit(self._run_safely, job_id)

    def wake(self, job_id: str) -> None:
        """CI reported on the job's commit: a job waiting for it looks again."""
        with self._lock:
            event = self._running.get(job_id)
        if event is not None:
            event.set()
        else:
            self.submit(job_id)  # recorded as waiting by a process that has stopped

    def resume(self, job_ids: list[str]) -> None:
        """Continue the jobs a previous process left queued, running or waiting."""
        for job_id in job_ids:
            self.submit(job_id)

    def close(self) -> None:
        """Stop: jobs end their current wait and stay recorded as they are."""
        self.steps.stop.set()
        with self._lock:
            for event in self._running.values():
                event.set()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    # -- one job --------------------------------------------------------------------------

    def _run_safely(self, job_id: str) -> None:
        try:
            with self.claims.claim(job_id) as ours:
                if ours:
                    self._run(job_id)
        except Exception as error:
            log.exception("job %s stopped on an unexpected error", job_id)
            with contextlib.suppress(Exception):  # the job must not stay running
                self._end(job_id, JobStatus.FAILED, f"internal error: {type(error).__name__}")
        finally:
            with self._lock:
                self._running.pop(job_id, None)

    def _run(self, job_id: str) -> None:
        job = self.ledger.job(job_id)
        lane = self.ledger.workflow(job.workflow).jobs.get(job_id, "")
        with self._lane(f"{job.workflow}/{lane}"):
            job = self.ledger.job(job_id)
            if job.status.ended or self.steps.stop.is_set():
                return
            if job.status == JobStatus.QUEUED:
                self.steps.record(job_id, lambda j: j.start(SYSTEM))
            with self._lock:
                wake = self._running[job_id]
            try:
                self.steps.run(job_id, wake)
            except Stopped:
                return
            except JobFailed as failure:
                self._end(job_id, JobStatus.FAILED, str(failure))
                return
            self._end(job_id, JobStatus.SUCCEEDED)

    def _lane(self, lane: str) -> threading.Lock:
        """One job at a time per lane of a workflow (a branch, a pull request)."""
        with self._lock:
            return self._lanes.setdefault(lane, threading.Lock())

    def _end(self, job_id: str, status: JobStatus, cause: str = "") -> None:
        def handle() -> Decision:
            job = self.ledger.job(job_id)
            if job.status.ended:
                raise FailedPrecondition(f"job {job_id} has ended")
            job.end(SYSTEM, status, cause[:2000])
            workflow = self.ledger.workflow(job.workflow)
            workflow.end_job(SYSTEM, job_id)
            return Decision(Outcome(app="", job_id=job_id), (job, workflow))

        with contextlib.suppress(FailedPrecondition):  # superseded meanwhile
            self.ledger.execute("EndJob", job_id, SYSTEM, handle)
