"""Workflows, jobs and commits as ``--json`` and as tables: exact keys, nulls, provenance."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from cli import render, views
from cli.commands.jobs import check_job, job_block, job_json, jobs_table
from cli.commands.workflows import workflow_block, workflow_json, workflows_table
from cli.errors import EXIT_PROMOTION_FAILED, EXIT_REFUSED, CliError
from ledger_api.v1 import ledger_pb2 as pb

MOMENT = Timestamp(seconds=1795721288)  # 2026-11-26T19:28:08Z
SHA = "3f2a9c1d0e5b4a7c8d9e0f1a2b3c4d5e6f708192"
COMMIT = pb.Commit(
    repository="https://git.example/shop.git",
    ref="refs/heads/main",
    sha=SHA,
    author="Alice Dev <alice@example.com>",
    message="Fix the basket\n\nIt lost items.",
)
WORKFLOW_KEYS = {
    "name", "repository", "branch", "apps", "promote", "before_promote", "after_promote",
    "review_apps", "review_env_keys", "wait_for_ci", "poll_seconds", "allow_forks",
    "has_credentials", "webhook_url", "paused", "created_at", "updated_at", "actor",
}  # fmt: skip
JOB_KEYS = {
    "id", "workflow", "kind", "status", "apps", "provider", "delivery_id", "ref", "sha",
    "pusher", "pull_number", "message", "rerun_of", "cause", "checks", "created_at",
    "started_at", "ended_at", "steps",
}  # fmt: skip
STEP_KEYS = {"name", "app", "status", "detail", "build_id", "release_id", "promotion_id"}


def line(block: str, label: str) -> str:
    """The value on the line of ``label`` in a key/value block."""
    (found,) = [row for row in block.splitlines() if row.startswith(label + "  ")]
    return found[len(label) :].strip()


def workflow() -> pb.Workflow:
    settings = pb.WorkflowSettings(
        repository="https://git.example/shop.git",
        branch="main",
        apps=["shop", "shop-api"],
        promote="auto",
        before_promote=["web: rake db:migrate"],
        review_apps=True,
        review_env={"TOKEN": "***", "DEBUG": "***"},
        poll_seconds=300,
    )
    return pb.Workflow(
        name="shop",
        settings=settings,
        has_credentials=True,
        actor="admin (K1)",
        created_at=MOMENT,
        webhook_url="http://127.0.0.1:8080/hooks/shop",
        paused=[pb.PausedApp(app="shop-api", reason="rolled back by ann")],
    )


def job(**fields: object) -> pb.Job:
    values: dict[str, object] = {
        "id": "J1",
        "workflow": "shop",
        "kind": "deploy",
        "status": "running",
        "apps": ["shop"],
        "provider": "github",
        "ref": "refs/heads/main",
        "sha": SHA,
        "message": "Fix the basket",
        "created_at": MOMENT,
        **fields,
    }
    return pb.Job(**values)  # type: ignore[arg-type]


def test_a_workflow_json_has_exactly_the_contract_keys() -> None:
    assert workflow_json(workflow()).keys() == WORKFLOW_KEYS


def test_a_workflow_json_shows_review_env_keys_sorted_and_never_their_values() -> None:
    data = workflow_json(workflow())

    assert data["review_env_keys"] == ["DEBUG", "TOKEN"]
    assert "***" not in render.dumps(data)


def test_a_workflow_json_lists_paused_apps_with_their_reasons() -> None:
    assert workflow_json(workflow())["paused"] == [
        {"app": "shop-api", "reason": "rolled back by ann"}
    ]


def test_a_workflow_without_a_webhook_url_has_a_null_one_and_null_unset_times() -> None:
    data = workflow_json(pb.Workflow(name="shop"))

    assert (data["webhook_url"], data["updated_at"]) == (None, None)


def test_the_workflows_table_names_the_paused_apps() -> None:
    header, row = workflows_table([workflow()]).splitlines()

    assert header.split() == ["NAME", "REPOSITORY", "BRANCH", "APPS", "PROMOTE", "POLL", "PAUSED"]
    assert row.split()[0] == "shop" and row.endswith("shop-api")


def test_the_workflow_block_shows_the_webhook_url_and_why_promotion_is_paused() -> None:
    block = workflow_block(workflow())

    assert "http://127.0.0.1:8080/hooks/shop" in block
    assert "every 5m00s" in block
    assert block.splitlines()[-1].split(maxsplit=1) == ["shop-api", "rolled back by ann"]


def test_a_job_json_has_exactly_the_contract_keys_and_its_steps() -> None:
    step = pb.JobStep(name="build", app="shop", status="succeeded", build_id="B1")

    data = job_json(job(steps=[step]))

    assert data.keys() == JOB_KEYS
    assert data["steps"] == [
        {
            "name": "build",
            "app": "shop",
            "status": "succeeded",
            "detail": "",
            "build_id": "B1",
            "release_id": None,
            "promotion_id": None,
        }
    ]
    assert data["steps"][0].keys() == STEP_KEYS


def test_a_job_json_has_nulls_for_what_it_does_not_have() -> None:
    data = job_json(job())

    assert (data["rerun_of"], data["pull_number"], data["delivery_id"]) == (None, None, None)
    assert (data["checks"], data["ended_at"]) == (None, None)
    assert data["created_at"] == "2026-11-26T19:28:08.000000Z"


def test_the_jobs_table_shows_the_branch_and_the_short_sha() -> None:
    header, row = jobs_table([job()]).splitlines()

    assert header.split()[:6] == ["ID", "WORKFLOW", "KIND", "STATUS", "REF", "COMMIT"]
    assert row.split()[:6] == ["J1", "shop", "deploy", "running", "main", "3f2a9c1"]


def test_a_pull_requests_job_shows_its_number_as_the_ref() -> None:
    row = jobs_table([job(kind="review", pull_number=12, ref="refs/pull/12/head")])

    assert "PR #12" in row


def test_the_job_block_lists_each_step_with_its_ids_and_detail() -> None:
    steps = [
        pb.JobStep(name="build", app="shop", status="succeeded", build_id="B1", release_id="R1"),
        pb.JobStep(name="promote", app="shop", status="failed", promotion_id="P1", detail="503"),
    ]

    block = job_block(job(status="failed", cause="promotion P1 rolled back", steps=steps))

    assert "promotion P1 rolled back" in block
    assert block.splitlines()[-2].split() == ["build", "shop", "succeeded", "B1", "R1", "-"]
    assert block.splitlines()[-1].split() == ["promote", "shop", "failed", "-", "-", "P1", "503"]


def test_a_job_that_succeeded_passes_the_check() -> None:
    check_job(job(status="succeeded"))


def test_a_job_failed_by_its_promotion_exits_3_with_its_cause() -> None:
    steps = [pb.JobStep(name="promote", app="shop", status="failed", detail="rolled back")]
    failed = job(status="failed", cause="promotion P1 rolled_back", steps=steps)

    try:
        check_job(failed)
    except CliError as error:
        assert (error.exit_code, error.message) == (
            EXIT_PROMOTION_FAILED,
            "job J1 failed: promotion P1 rolled_back",
        )
    else:
        raise AssertionError("a failed job passed")


def test_a_superseded_job_exits_1() -> None:
    try:
        check_job(job(status="superseded", cause="a newer commit came first"))
    except CliError as error:
        assert error.exit_code == EXIT_REFUSED
    else:
        raise AssertionError("a superseded job passed")


def test_a_release_from_git_has_its_commit_in_json() -> None:
    data = render.release(pb.Release(id="R1", commit=COMMIT))

    assert data["commit"] == {
        "repository": "https://git.example/shop.git",
        "ref": "refs/heads/main",
        "sha": SHA,
        "author": "Alice Dev <alice@example.com>",
        "message": "Fix the basket\n\nIt lost items.",
    }


def test_a_build_and_a_release_not_from_git_have_a_null_commit() -> None:
    assert render.release(pb.Release(id="R1"))["commit"] is None
    assert render.build(pb.Build(id="B1"))["commit"] is None


def test_the_releases_table_describes_a_release_from_git_by_its_commit() -> None:
    table = views.releases_table([pb.Release(id="R1", version=1, description="x", commit=COMMIT)])

    assert table.splitlines()[1].endswith("3f2a9c1 Fix the basket")


def test_the_builds_table_describes_a_build_from_git_by_its_commit() -> None:
    table = views.builds_table([pb.Build(id="B1", status="succeeded", commit=COMMIT)])

    assert table.splitlines()[1].endswith("3f2a9c1 Fix the basket")


def test_the_release_block_shows_the_commit_author_and_repository() -> None:
    block = views.release_block(pb.Release(id="R1", commit=COMMIT))

    assert line(block, "Commit") == SHA
    assert "Alice Dev <alice@example.com>" in block
    assert "https://git.example/shop.git refs/heads/main" in block


def test_an_app_json_has_its_workflows_and_whether_promotion_is_paused_or_archived() -> None:
    app = pb.App(name="shop", workflows=["shop"], auto_promotion_paused="rolled back by ann")

    data = render.app(app)

    assert data["workflows"] == ["shop"]
    assert data["auto_promotion_paused"] == "rolled back by ann"
    assert data["archived"] is False
    assert render.app(pb.App(name="web"))["auto_promotion_paused"] is None


def test_the_apps_table_notes_an_archived_review_app_and_a_paused_one() -> None:
    apps = [pb.App(name="shop-pr-3", archived=True), pb.App(name="shop", auto_promotion_paused="x")]

    _, archived, paused = views.apps_table(apps).splitlines()

    assert archived.endswith("archived")
    assert paused.endswith("auto promotion paused")


def test_the_app_block_says_why_automatic_promotion_is_paused() -> None:
    block = views.app_block(pb.App(name="shop", workflows=["shop"], auto_promotion_paused="why"))

    assert line(block, "Workflows") == "shop"
    assert line(block, "Auto promotion") == "paused: why"
