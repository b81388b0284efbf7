"""Polling: a repository that sends no webhooks is asked for its branch's head."""

from __future__ import annotations

from ledger.domain import JobStatus
from ledger.workflows.commands import UpdateWorkflow
from ledger.workflows.settings import SettingsChange
from tests.unit.ledger.workflows.conftest import ADMIN, World


def poll(world: World) -> str:
    """Poll the workflow's branch once; the job it started ('' for none)."""
    accepted = world.workflows.poll("site")
    return accepted.job_id if accepted is not None and not accepted.duplicate else ""


def test_a_new_head_on_the_branch_starts_a_job_of_it(world: World) -> None:
    world.create(poll_seconds=60)
    sha = world.repo.commit({"VERSION": "1"}, "pushed, no webhook")
    job = world.ended(poll(world))
    assert job.sha == sha and job.status == JobStatus.SUCCEEDED
    assert job.trigger["provider"] == "poll"


def test_a_head_seen_before_starts_nothing_again(world: World) -> None:
    world.create(poll_seconds=60)
    world.repo.commit({"VERSION": "1"}, "once")
    world.ended(poll(world))
    assert poll(world) == ""
    assert world.ledger.app("shop").release_count == 1


def test_a_repository_that_cannot_be_read_starts_nothing(world: World) -> None:
    world.create(poll_seconds=60)
    unreadable = SettingsChange(repository="file:///nonexistent/repo.git")
    world.workflows.update(UpdateWorkflow("site", unreadable), ADMIN)
    assert world.workflows.poll("site") is None
