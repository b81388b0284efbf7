"""A job outlives the ledgerd that started it: the next one resumes it from its last step."""

from __future__ import annotations

import threading

from ledger.domain import JobStatus
from ledger.workflows.runner import JobRunner
from ledger.workflows.steps import JobSteps
from ledger.workflows.triggers import CheckState
from tests.unit.ledger.workflows.conftest import World


def restarted(world: World) -> JobRunner:
    """The runner of a new process on the same ledger (the old one stopped)."""
    world.runner.close()
    old = world.runner.steps
    steps = JobSteps(
        world.ledger, world.service, old.builder, old.fetcher, world.commands, threading.Event()
    )
    runner = JobRunner(world.ledger, steps, max_workers=2)
    world.workflows.jobs = runner
    world.runner = runner
    return runner


def test_a_job_waiting_for_ci_when_ledgerd_stopped_goes_on_after_a_restart(world: World) -> None:
    world.create(wait_for_ci=True)
    job = world.waiting(world.push("1").job_id)
    runner = restarted(world)
    runner.resume([job.job_id])
    world.checks(job.sha, CheckState.SUCCESS)
    ended = world.ended(job.job_id)
    assert ended.status == JobStatus.SUCCEEDED, ended.cause
    assert [s["name"] for s in ended.steps] == ["fetch", "build", "ci", "promote"], ended.steps
    assert world.ledger.app("shop").release_count == 1  # built once


def test_ci_that_reported_while_no_ledgerd_ran_is_found_at_the_restart(world: World) -> None:
    world.create(wait_for_ci=True)
    job = world.waiting(world.push("1").job_id)
    runner = restarted(world)
    world.checks(job.sha, CheckState.SUCCESS)  # recorded; the new runner takes the job then
    runner.resume([job.job_id])
    assert world.ended(job.job_id).status == JobStatus.SUCCEEDED
