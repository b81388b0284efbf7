"""Deploy jobs: a push builds its commit and promotes its release, with people in charge."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.commands import PromoteRelease, RollbackRelease
from ledger.domain import JobStatus, PromoteMode
from ledger.workflows.commands import ResumeWorkflow
from ledger.workflows.triggers import CheckState, TriggerKind
from tests.unit.ledger.workflows.conftest import ADMIN, World


def test_a_push_to_the_branch_builds_the_commit_and_promotes_its_release(world: World) -> None:
    world.create()
    accepted = world.push("1", "Add the checkout page\n\nLonger explanation.")
    job = world.ended(accepted.job_id)
    assert job.status == JobStatus.SUCCEEDED, job.cause
    app = world.ledger.app("shop")
    release = world.ledger.release("shop", app.active_release_id)
    build = world.ledger.build("shop", release.build_id)
    assert build.commit["sha"] == job.sha
    assert build.commit["message"].startswith("Add the checkout page")
    assert build.commit["author"] == "Alice Dev <alice@example.com>"
    assert build.description == f"{job.sha[:7]} Add the checkout page"
    assert world.runtime.running["shop"].image == "shop:1"
    assert [s["name"] for s in job.steps] == ["fetch", "build", "promote"]


def test_a_push_to_another_branch_starts_nothing(world: World) -> None:
    world.create()
    accepted = world.push("1", branch="feature")
    assert accepted.job_id == ""
    assert "not branch main" in accepted.outcome


def test_a_delivery_seen_before_starts_nothing_again(world: World) -> None:
    world.create()
    sha = world.repo.commit({"VERSION": "1"}, "one")
    fields = {"kind": TriggerKind.PUSH, "event": "push", "ref": "refs/heads/main", "sha": sha}
    first = world.deliver(delivery_id="d-1", **fields)
    again = world.deliver(delivery_id="d-1", **fields)
    assert again.duplicate and again.job_id == first.job_id
    world.ended(first.job_id)
    assert world.ledger.app("shop").release_count == 1


def test_a_manual_workflow_builds_a_release_and_leaves_promotion_to_a_person(world: World) -> None:
    world.create(promote=PromoteMode.MANUAL)
    job = world.ended(world.push("1").job_id)
    assert job.status == JobStatus.SUCCEEDED
    app = world.ledger.app("shop")
    assert app.release_count == 1 and app.active_release_id == ""
    promote = job.step_named("promote", "shop")
    assert promote is not None and promote["status"] == "skipped"
    assert promote["detail"].startswith("manual: ledgerctl releases promote R")


def test_a_failing_build_fails_the_job_and_promotes_nothing(world: World) -> None:
    world.create()
    job = world.ended(world.push("broken").job_id)
    assert job.status == JobStatus.FAILED
    assert "RUN make exited with code 2" in job.cause
    assert world.ledger.app("shop").active_release_id == ""


def test_a_failing_health_check_fails_the_job_and_pauses_automatic_promotion(world: World) -> None:
    world.create()
    world.ended(world.push("1").job_id)
    failed = world.ended(world.push("bad").job_id)
    assert failed.status == JobStatus.FAILED
    assert "rolled_back: web exited with code 3" in failed.cause
    app = world.ledger.app("shop")
    assert "failed and was rolled back" in app.auto_promotion_paused
    next_job = world.ended(world.push("2").job_id)
    assert next_job.status == JobStatus.SUCCEEDED
    skipped = next_job.step_named("promote", "shop")
    assert skipped is not None and skipped["detail"].startswith("paused: ")
    assert world.runtime.running["shop"].image == "shop:1"


def test_a_rollback_pauses_the_next_push_until_someone_resumes(world: World) -> None:
    world.create()
    world.ended(world.push("1").job_id)
    first = world.ledger.app("shop").active_release_id
    world.ended(world.push("2").job_id)
    world.service.rollback(RollbackRelease("shop", first), ADMIN)
    assert world.ledger.app("shop").auto_promotion_paused.startswith("rolled back to v1 by alice")
    world.ended(world.push("3").job_id)
    assert world.runtime.running["shop"].image == "shop:1"
    world.workflows.resume(ResumeWorkflow("site"), ADMIN)
    assert world.ledger.app("shop").auto_promotion_paused == ""
    world.ended(world.push("4").job_id)
    assert world.runtime.running["shop"].image == "shop:4"


def test_promoting_the_newest_release_by_hand_resumes_automatic_promotion(world: World) -> None:
    world.create()
    world.ended(world.push("1").job_id)
    first = world.ledger.app("shop").active_release_id
    world.ended(world.push("2").job_id)
    world.service.promote(PromoteRelease("shop", first), ADMIN)
    assert "older than v2" in world.ledger.app("shop").auto_promotion_paused
    world.service.promote(PromoteRelease("shop"), ADMIN)
    assert world.ledger.app("shop").auto_promotion_paused == ""


def test_a_release_waits_for_ci_and_is_promoted_when_it_passes(world: World) -> None:
    world.create(wait_for_ci=True)
    job = world.waiting(world.push("1").job_id)
    assert world.ledger.app("shop").active_release_id == ""
    world.checks(job.sha, CheckState.SUCCESS)
    assert world.ended(job.job_id).status == JobStatus.SUCCEEDED
    assert world.runtime.running["shop"].image == "shop:1"


def test_a_release_whose_ci_fails_is_left_unpromoted(world: World) -> None:
    world.create(wait_for_ci=True)
    job = world.waiting(world.push("1").job_id)
    world.checks(job.sha, CheckState.FAILURE)
    ended = world.ended(job.job_id)
    assert ended.status == JobStatus.FAILED and "CI reported failure" in ended.cause
    assert world.ledger.app("shop").release_count == 1
    assert world.ledger.app("shop").active_release_id == ""


def test_a_newer_commit_supersedes_a_job_still_waiting(world: World) -> None:
    world.create(wait_for_ci=True)
    older = world.waiting(world.push("1").job_id)
    newer = world.push("2").job_id
    superseded = world.ended(older.job_id)
    assert superseded.status == JobStatus.SUPERSEDED
    assert superseded.cause == f"superseded by job {newer}"
    job = world.waiting(newer)
    world.checks(job.sha, CheckState.SUCCESS)
    assert world.ended(newer).status == JobStatus.SUCCEEDED


def test_a_failed_job_does_not_block_the_next_commit(world: World) -> None:
    world.create()
    world.ended(world.push("broken").job_id)
    assert world.ended(world.push("2").job_id).status == JobStatus.SUCCEEDED
    assert world.runtime.running["shop"].image == "shop:2"


def test_a_rerun_builds_the_same_commit_again(world: World) -> None:
    world.create()
    first = world.ended(world.push("1").job_id)
    rerun = world.workflows.rerun(first.job_id, ADMIN)
    again = world.ended(rerun.job_id)
    assert again.sha == first.sha and again.rerun_of == first.job_id
    assert again.status == JobStatus.SUCCEEDED


def test_a_pushs_build_records_when_its_commit_was_made(world: World) -> None:
    world.create()
    before = datetime.now(UTC).replace(microsecond=0)

    job = world.ended(world.push("1", "Add the checkout page").job_id)

    release = world.ledger.release("shop", world.ledger.app("shop").active_release_id)
    committed_at = datetime.fromisoformat(
        world.ledger.build("shop", release.build_id).commit["committed_at"]
    )
    assert job.status == JobStatus.SUCCEEDED, job.cause
    assert committed_at.tzinfo is not None
    assert before <= committed_at <= datetime.now(UTC)
