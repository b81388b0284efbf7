"""Review apps: a temporary app per pull request, archived when it closes."""

from __future__ import annotations

import pytest

from ledger.commands import PromoteRelease
from ledger.domain import JobStatus
from ledger.errors import FailedPrecondition
from ledger.workflows.triggers import PullAction
from tests.unit.ledger.workflows.conftest import ADMIN, World


def test_an_opened_pull_request_gets_a_review_app_with_the_review_env(world: World) -> None:
    world.create(review_apps=True, review_env={"DATABASE_URL": "postgres://review-db"})
    job = world.ended(world.pull_request(7, PullAction.OPENED).job_id)
    assert job.status == JobStatus.SUCCEEDED, job.cause
    review = world.ledger.app("shop-pr-7")
    assert review.env == {"DATABASE_URL": "postgres://review-db"}
    assert world.runtime.running["shop-pr-7"].image == "shop-pr-7:pr7"
    assert world.ledger.app("shop").release_count == 0


def test_new_commits_on_the_pull_request_redeploy_its_review_app(world: World) -> None:
    world.create(review_apps=True)
    world.ended(world.pull_request(7, PullAction.OPENED, version="a").job_id)
    world.ended(world.pull_request(7, PullAction.SYNCHRONIZED, version="b").job_id)
    assert world.runtime.running["shop-pr-7"].image == "shop-pr-7:b"


def test_a_closed_pull_request_stops_and_archives_its_review_app(world: World) -> None:
    world.create(review_apps=True)
    world.ended(world.pull_request(7, PullAction.OPENED).job_id)
    closed = world.ended(world.pull_request(7, PullAction.CLOSED).job_id)
    assert closed.status == JobStatus.SUCCEEDED
    review = world.ledger.app("shop-pr-7")
    assert review.archived and "shop-pr-7" not in world.runtime.running
    assert review.release_count == 1  # its history is kept
    with pytest.raises(FailedPrecondition, match="archived"):
        world.service.promote(PromoteRelease("shop-pr-7"), ADMIN)


def test_a_reopened_pull_request_restores_its_review_app(world: World) -> None:
    world.create(review_apps=True)
    world.ended(world.pull_request(7, PullAction.OPENED).job_id)
    world.ended(world.pull_request(7, PullAction.CLOSED).job_id)
    reopened = world.ended(world.pull_request(7, PullAction.REOPENED, version="c").job_id)
    assert reopened.status == JobStatus.SUCCEEDED, reopened.cause
    assert not world.ledger.app("shop-pr-7").archived
    assert world.runtime.running["shop-pr-7"].image == "shop-pr-7:c"


def test_a_pull_request_from_a_fork_gets_no_review_app(world: World) -> None:
    world.create(review_apps=True)
    accepted = world.pull_request(8, PullAction.OPENED, fork=True)
    assert accepted.job_id == "" and "from a fork" in accepted.outcome


def test_a_fork_gets_a_review_app_when_the_workflow_allows_forks(world: World) -> None:
    world.create(review_apps=True, allow_forks=True)
    job = world.ended(world.pull_request(8, PullAction.OPENED, fork=True).job_id)
    assert job.status == JobStatus.SUCCEEDED


def test_pull_requests_start_nothing_without_review_apps(world: World) -> None:
    world.create()
    accepted = world.pull_request(9, PullAction.OPENED)
    assert accepted.job_id == "" and "review apps are off" in accepted.outcome
