"""Workflows, jobs, deliveries and an app's automation in the read model, on SQLite and
PostgreSQL: events recorded with the domain's methods on a real ledger, then projected."""

from __future__ import annotations

from dataclasses import replace

from ledger.commands import RollbackRelease, UpdateEnv
from ledger.domain import JobStatus, Meta, StepStatus
from ledger.views import JobStepView
from projections import LedgerViews, ProjectionWorker
from tests.integration.projections.conftest import ALICE, Ledger
from tests.support.workflows import (
    SHA,
    accept_delivery,
    create_workflow,
    end_job,
    git_build,
    queue_job,
    settings,
    trigger,
)

SECRET = "workflow-s3cr3t-that-must-never-leak"
COMMIT = {
    "repository": "example/shop",
    "ref": "refs/heads/main",
    "sha": SHA,
    "author": "Bob <bob@example.com>",
    "message": "Fix the basket",
}


def catch_up(ledger: Ledger, views: LedgerViews) -> int:
    return ProjectionWorker(ledger.app, views).catch_up()


def test_a_workflows_view_shows_its_settings_and_review_env_keys_but_no_secret_or_value(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("shop")
    review_env = {"TOKEN": SECRET + "-value", "MODE": "review"}
    shown = settings(review_apps=True, review_env=review_env, poll_seconds=60)
    create_workflow(ledger.app, ALICE, "deploy", shown, SECRET + "-hook", SECRET + "-creds")
    catch_up(ledger, views)

    view = views.get_workflow("deploy")
    assert view is not None
    assert (view.repository, view.branch, view.apps) == (shown.repository, "main", ("shop",))
    assert (view.promote, view.before_promote, view.after_promote) == (
        "auto",
        ("web: rake db:migrate",),
        (),
    )
    assert (view.review_apps, view.review_env_keys) == (True, ("MODE", "TOKEN"))
    assert (view.wait_for_ci, view.poll_seconds, view.allow_forks) == (False, 60, False)
    assert view.has_credentials and not view.deleted
    assert view.actor == ALICE.actor and view.updated_at == view.created_at
    assert SECRET not in repr(view)
    stored = "".join(str(n.state) for n in ledger.app.recorder.select_notifications(1, 1000))
    assert SECRET in stored  # the log has them (so the checks below mean something) ...
    for table, rows in views.dump().items():
        assert SECRET not in repr(rows), f"the {table} table holds a secret"  # ... no table
    assert SECRET not in repr(views.list_events())


def test_an_update_of_a_workflow_changes_its_view(ledger: Ledger, views: LedgerViews) -> None:
    ledger.create_app("shop")
    ledger.create_app("api")
    create_workflow(ledger.app, ALICE, "deploy", settings())
    catch_up(ledger, views)
    before = views.get_workflow("deploy")
    assert before is not None and not before.has_credentials

    workflow = ledger.app.workflow("deploy")
    changed = settings(("api", "shop"), branch="release", wait_for_ci=True, before_promote=())
    workflow.update(Meta("bob"), changed)
    workflow.change_credentials(Meta("bob"), "token:" + SECRET)
    ledger.app.save(workflow)
    catch_up(ledger, views)

    after = views.get_workflow("deploy")
    assert after is not None
    assert (after.apps, after.branch, after.wait_for_ci) == (("api", "shop"), "release", True)
    assert after.before_promote == () and after.has_credentials
    assert (after.actor, after.created_at) == (before.actor, before.created_at)
    assert after.updated_at > before.updated_at
    assert views.list_workflows() == [after]


def test_a_deleted_workflow_is_not_listed_but_get_workflow_marks_it_deleted(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("shop")
    for name in ("alpha", "beta", "gamma"):
        create_workflow(ledger.app, ALICE, name, settings())
    workflow = ledger.app.workflow("beta")
    workflow.delete(ALICE)
    ledger.app.save(workflow)
    catch_up(ledger, views)

    assert [w.name for w in views.list_workflows()] == ["alpha", "gamma"]
    assert [w.name for w in views.list_workflows(after="alpha", limit=1)] == ["gamma"]
    deleted = views.get_workflow("beta")
    assert deleted is not None and deleted.deleted
    assert views.get_workflow("nope") is None


def test_a_jobs_steps_and_status_follow_its_events(ledger: Ledger, views: LedgerViews) -> None:
    ledger.create_app("shop")
    create_workflow(ledger.app, ALICE, "deploy", settings(wait_for_ci=True))
    long_message = "x" * 300 + "\nsecond line"
    queued = queue_job(ledger.app, ALICE, "deploy", trigger(message=long_message))
    catch_up(ledger, views)
    view = views.get_job(queued.job_id)
    assert view is not None
    assert (view.status, view.steps, view.started_at, view.ended_at) == ("queued", (), None, None)
    assert (view.workflow, view.kind, view.apps, view.actor) == (
        "deploy",
        "deploy",
        ("shop",),
        ALICE.actor,
    )
    assert (view.provider, view.delivery_id, view.ref, view.sha, view.pusher) == (
        "github",
        f"delivery-{SHA[:8]}",
        "refs/heads/main",
        SHA,
        "bob",
    )
    assert (view.pull_number, view.message) == (0, "x" * 200)

    job = ledger.app.job(queued.job_id)
    job.start(ALICE)
    fetch = job.start_step(ALICE, "fetch", detail="fetching")
    job.end_step(ALICE, fetch, StepStatus.SUCCEEDED)  # no detail: the old one stays
    build = job.start_step(ALICE, "build", "shop", "build B1", build_id="B0000000001")
    job.end_step(ALICE, build, StepStatus.SUCCEEDED, "built", release_id="R0000000001")
    job.wait(ALICE, "waiting for CI")
    ledger.app.save(job)
    catch_up(ledger, views)
    view = views.get_job(queued.job_id)
    assert view is not None and view.status == "waiting" and view.started_at is not None

    job = ledger.app.job(queued.job_id)
    job.report_checks(ALICE, "success", "github")
    job.start(ALICE)
    promote = job.start_step(ALICE, "promote", "shop")
    job.note_promotion(ALICE, promote, "P0000000001")
    job.end_step(ALICE, promote, StepStatus.FAILED, "the rollout failed")
    ledger.app.save(job)
    end_job(ledger.app, ALICE, queued.job_id, JobStatus.FAILED, "promote failed")
    catch_up(ledger, views)

    view = views.get_job(queued.job_id)
    assert view is not None
    assert (view.status, view.cause, view.checks) == ("failed", "promote failed", "success")
    assert view.started_at is not None and view.ended_at is not None
    assert view.created_at <= view.started_at <= view.ended_at
    aggregate = ledger.app.job(queued.job_id)
    assert view.steps == tuple(JobStepView(**step) for step in aggregate.steps)
    assert [(s.name, s.status, s.detail) for s in view.steps] == [
        ("fetch", "succeeded", "fetching"),
        ("build", "succeeded", "built"),
        ("promote", "failed", "the rollout failed"),
    ]
    assert view.steps[1].build_id == "B0000000001" and view.steps[1].release_id == "R0000000001"
    assert view.steps[2].promotion_id == "P0000000001"
    assert views.list_jobs("deploy") == [replace(view, steps=())]
    assert views.get_job("JNOPENOPENO") is None


def test_jobs_in_flight_lists_only_jobs_not_ended(ledger: Ledger, views: LedgerViews) -> None:
    ledger.create_app("shop")
    ledger.create_app("api")
    create_workflow(ledger.app, ALICE, "deploy", settings())
    create_workflow(ledger.app, ALICE, "other", settings(("api",)))
    done = queue_job(ledger.app, ALICE, "deploy")
    end_job(ledger.app, ALICE, done.job_id, JobStatus.SUCCEEDED)
    queued = queue_job(ledger.app, ALICE, "other")
    running = queue_job(ledger.app, ALICE, "deploy")
    job = ledger.app.job(running.job_id)
    job.start(ALICE)
    ledger.app.save(job)
    superseded = queue_job(ledger.app, ALICE, "other")
    end_job(ledger.app, ALICE, superseded.job_id, JobStatus.SUPERSEDED, "by a newer job")
    catch_up(ledger, views)

    in_flight = views.jobs_in_flight()
    assert [(j.id, j.status) for j in in_flight] == [
        (queued.job_id, "queued"),
        (running.job_id, "running"),
    ]
    every = [done.job_id, queued.job_id, running.job_id, superseded.job_id]
    assert [j.id for j in views.list_jobs()] == every[::-1]
    assert [j.id for j in views.list_jobs("deploy")] == [running.job_id, done.job_id]
    newest = views.list_jobs(limit=1)[0]
    assert [j.id for j in views.list_jobs(before_position=newest.position, limit=2)] == [
        running.job_id,
        queued.job_id,
    ]
    assert views.list_jobs("nope") == []


def test_deliveries_are_listed_newest_first(ledger: Ledger, views: LedgerViews) -> None:
    ledger.create_app("shop")
    create_workflow(ledger.app, ALICE, "deploy", settings())
    create_workflow(ledger.app, ALICE, "other", settings())
    job = queue_job(ledger.app, ALICE, "deploy")
    accept_delivery(ledger.app, ALICE, "deploy", "d-1", job.job_id)
    accept_delivery(ledger.app, ALICE, "other", "d-2")
    accept_delivery(ledger.app, ALICE, "deploy", "d-3")
    catch_up(ledger, views)

    listed = views.list_deliveries("deploy")
    assert [d.delivery_id for d in listed] == ["d-3", "d-1"]
    first = listed[1]
    assert (first.workflow, first.provider, first.event, first.kind) == (
        "deploy",
        "github",
        "push",
        "push",
    )
    assert (first.ref, first.sha, first.pusher, first.job_id) == (
        "refs/heads/main",
        SHA,
        "bob",
        job.job_id,
    )
    assert first.outcome == f"queued job {job.job_id}" and listed[0].job_id == ""
    assert listed[0].position > first.position and listed[0].time >= first.time
    assert views.list_deliveries("deploy", before_position=listed[0].position) == [first]
    assert views.list_deliveries("deploy", limit=1) == [listed[0]]
    assert [d.delivery_id for d in views.list_deliveries("other")] == ["d-2"]


def test_an_app_shows_its_workflows_pause_reason_and_archived_flag(
    ledger: Ledger, views: LedgerViews
) -> None:
    for name in ("api", "shop"):
        ledger.create_app(name)
    create_workflow(ledger.app, ALICE, "web", settings())
    create_workflow(ledger.app, ALICE, "deploy", settings(("api", "shop")))
    create_workflow(ledger.app, ALICE, "nightly", settings())
    shop = ledger.app.app("shop")
    shop.disconnect_workflow(ALICE, "nightly")
    shop.connect_workflow(ALICE, "nightly")
    shop.disconnect_workflow(ALICE, "web")
    shop.pause_auto_promotion(ALICE, "rolled back by alice")
    shop.archive(ALICE, "pull request closed")
    ledger.app.save(shop)
    catch_up(ledger, views)

    app = views.get_app("shop")
    assert app is not None
    assert app.workflows == ("deploy", "nightly")
    assert (app.auto_promotion_paused, app.archived) == ("rolled back by alice", True)
    api = views.get_app("api")
    assert api is not None and (api.workflows, api.auto_promotion_paused, api.archived) == (
        ("deploy",),
        "",
        False,
    )
    assert views.list_apps() == [api, app]

    shop = ledger.app.app("shop")
    shop.resume_auto_promotion(ALICE, "resumed by alice")
    shop.restore(ALICE, "pull request reopened")
    for workflow in ("deploy", "nightly"):
        shop.disconnect_workflow(ALICE, workflow)
    ledger.app.save(shop)
    catch_up(ledger, views)
    app = views.get_app("shop")
    assert app is not None and (app.workflows, app.auto_promotion_paused, app.archived) == (
        (),
        "",
        False,
    )


def test_a_release_shows_its_builds_commit(ledger: Ledger, views: LedgerViews) -> None:
    ledger.create_app("shop")
    build_id, release_id = git_build(ledger.app, ALICE, "shop", COMMIT)
    ledger.service.update_env(UpdateEnv(app="shop", set_values={"A": "1"}), ALICE)
    plain, _ = ledger.deploy("shop", "nginx:1")
    rollback = ledger.service.rollback(RollbackRelease(app="shop", release_id=release_id), ALICE)
    ledger.wait_promotion(rollback.promotion_id)
    catch_up(ledger, views)

    build = views.get_build(build_id)
    assert build is not None and build.commit == COMMIT and build.status == "succeeded"
    release = views.get_release(release_id)
    assert release is not None and release.commit == COMMIT
    plain_release = views.get_release(plain)
    assert plain_release is not None and plain_release.commit == {}
    listed = {r.id: r.commit for r in views.list_releases("shop")}
    assert listed[rollback.release_id] == COMMIT  # a rollback runs the same build
    assert listed[plain] == {}
    as_of, count = views.releases_until("shop", views.position())
    assert count == len(listed) and {r.id: r.commit for r in as_of} == listed
