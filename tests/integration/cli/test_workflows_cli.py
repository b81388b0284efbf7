"""``ledgerctl workflows`` and ``jobs`` against a real ledgerd, on a real git repository.

On the ``record`` runtime (most tests) a job fetches the commit and then fails at its
build step, since that runtime builds nothing: enough to follow a job from the CLI to its
verdict. A job that builds and deploys for real runs on the Docker runtime (``docker``).
The CLI does not depend on the storage backend: SQLite only.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from cli.main import main
from server.infra.settings import Settings
from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl, Result
from tests.support.docker import HTTP_APP, docker_app, docker_client, write_context
from tests.support.git import Repository
from tests.support.ledgerd import InProcessLedgerd

__all__ = ["docker_app", "docker_client"]


def with_stdin(ledgerctl: Ledgerctl, stdin: str, *argv: str) -> Result:
    """Run ``ledgerctl`` with ``stdin`` as its standard input."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        list(argv),
        stdout=stdout,
        stderr=stderr,
        environ=ledgerctl.environ,
        stdin=io.StringIO(stdin),
    )
    return Result(code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    """A git repository (file://) whose main branch has one commit."""
    repository = Repository(tmp_path / "git")
    repository.commit({"README": "shop\n"}, "First commit\n\nWith a body.")
    return repository


@pytest.fixture
def shop(web: Ledgerctl, repository: Repository) -> Ledgerctl:
    """``ledgerctl`` once the workflow ``shop`` deploys ``web`` from ``repository``."""
    web.ok(
        "workflows", "create", "shop", "--repo", repository.url, "--app", "web",
        "--before-promote", "web: migrate",
    )  # fmt: skip
    return web


def workflow(ledgerctl: Ledgerctl, name: str = "shop") -> dict[str, Any]:
    data: dict[str, Any] = ledgerctl.ok("--json", "workflows", "info", name).json
    return data


@SQLITE_ONLY
def test_creating_a_workflow_prints_its_webhook_url_and_its_secret_only_once(
    web: Ledgerctl, repository: Repository
) -> None:
    argv = ["workflows", "create", "shop", "--repo", repository.url, "--app", "web"]

    created = web.ok("--json", *argv).json
    shown = web.ok("workflows", "info", "shop").stdout + web.ok("--json", "workflows").stdout

    assert created["secret"] and created["secret"] not in shown
    assert created["webhook_url"].endswith("/hooks/shop")
    assert created["workflow"]["webhook_url"] == created["webhook_url"]
    assert "not shown again" in web("workflows", "rotate-secret", "shop").stderr


@SQLITE_ONLY
def test_a_workflow_has_the_contract_keys_and_the_settings_it_was_given(
    web: Ledgerctl, repository: Repository
) -> None:
    web.ok(
        "workflows", "create", "shop", "--repo", repository.url, "--app", "web",
        "--promote", "manual", "--before-promote", "web: migrate", "--poll", "5m",
        "--review-env", "DEBUG=1",
    )  # fmt: skip

    (listed,) = web.ok("--json", "workflows").json

    assert listed.keys() >= {"name", "repository", "branch", "apps", "webhook_url", "paused"}
    assert (listed["name"], listed["repository"], listed["branch"]) == (
        "shop",
        repository.url,
        "main",
    )
    assert (listed["apps"], listed["promote"], listed["poll_seconds"]) == (["web"], "manual", 300)
    assert listed["before_promote"] == ["web: migrate"]
    assert listed["review_env_keys"] == ["DEBUG"]
    assert listed["paused"] == [] and listed["has_credentials"] is False


@SQLITE_ONLY
def test_an_update_changes_only_the_settings_given(shop: Ledgerctl) -> None:
    updated = shop.ok("--json", "workflows", "update", "shop", "--branch", "release").json

    assert updated["branch"] == "release"
    assert (updated["apps"], updated["before_promote"]) == (["web"], ["web: migrate"])


@SQLITE_ONLY
def test_credentials_read_from_stdin_are_kept_and_never_shown(shop: Ledgerctl) -> None:
    set_ = with_stdin(
        shop, "bot:s3cret-token\n", "workflows", "update", "shop", "--credentials-stdin"
    )
    with_them = workflow(shop)
    shop.ok("workflows", "update", "shop", "--no-credentials")

    assert set_.code == 0, set_.stderr
    assert with_them["has_credentials"] is True
    assert "s3cret-token" not in str(with_them)
    assert workflow(shop)["has_credentials"] is False


@SQLITE_ONLY
def test_rotating_the_secret_prints_a_new_one(web: Ledgerctl, repository: Repository) -> None:
    argv = ["workflows", "create", "shop", "--repo", repository.url, "--app", "web"]
    first = web.ok("--json", *argv).json["secret"]

    second = web.ok("--json", "workflows", "rotate-secret", "shop").json["secret"]

    assert second and second != first


@SQLITE_ONLY
def test_a_deleted_workflow_is_gone_from_the_list(shop: Ledgerctl) -> None:
    shop.ok("workflows", "delete", "shop")

    assert shop.ok("--json", "workflows").json == []
    assert shop("workflows", "info", "shop").code == 1


@SQLITE_ONLY
def test_an_app_names_the_workflows_that_deploy_it(shop: Ledgerctl) -> None:
    app = shop.ok("--json", "apps", "info", "web").json

    assert app["workflows"] == ["shop"]
    assert (app["auto_promotion_paused"], app["archived"]) == (None, False)


@SQLITE_ONLY
def test_running_a_workflow_prints_the_job_id_and_the_job_is_listed_newest_first(
    shop: Ledgerctl,
) -> None:
    first = shop.ok("workflows", "run", "shop").stdout.strip()
    second = shop.ok("workflows", "run", "shop").stdout.strip()

    listed = [job["id"] for job in shop.ok("--json", "workflows", "jobs", "shop").json]
    everyone = [job["id"] for job in shop.ok("--json", "jobs").json]

    assert first.startswith("J") and second.startswith("J")
    assert listed[:2] == [second, first]
    assert everyone[:2] == [second, first]


@SQLITE_ONLY
def test_waiting_for_a_job_that_fails_exits_1_and_jobs_info_shows_the_failed_step(
    shop: Ledgerctl, repository: Repository
) -> None:
    sha = repository.commit({"app.txt": "v2\n"}, "Second commit")

    result = shop("workflows", "run", "shop", "--commit", sha, "--wait")
    job_id = result.stdout.strip()
    job = shop.ok("--json", "jobs", "info", job_id).json

    assert result.code == 1
    assert result.stderr.splitlines()[-1].startswith(f"ledgerctl: error: job {job_id} failed")
    assert (job["status"], job["sha"], job["workflow"]) == ("failed", sha, "shop")
    assert [s["status"] for s in job["steps"] if s["name"] == "build"] == ["failed"]
    assert "build" in shop.ok("jobs", "info", job_id).stdout


@SQLITE_ONLY
def test_rerunning_a_job_that_ended_starts_a_new_job_of_the_same_commit(
    shop: Ledgerctl,
) -> None:
    first = shop("workflows", "run", "shop", "--wait").stdout.strip()
    ended = shop.ok("--json", "jobs", "info", first).json

    rerun = shop("--json", "jobs", "rerun", first, "--wait")

    assert ended["status"] == "failed"
    assert rerun.code == 1
    assert rerun.json["id"] != first
    assert (rerun.json["rerun_of"], rerun.json["sha"]) == (first, ended["sha"])


@SQLITE_ONLY
def test_a_rollback_pauses_automatic_promotion_until_the_workflow_is_resumed(
    shop: Ledgerctl,
) -> None:
    first = shop.deploy("web:1")
    shop.deploy("web:2")
    shop.ok("releases", "rollback", first, "--wait")

    paused = workflow(shop)["paused"]
    app = shop.ok("--json", "apps", "info", "web").json
    resumed = shop.ok("--json", "workflows", "resume", "shop", "--app", "web").json

    assert [p["app"] for p in paused] == ["web"] and paused[0]["reason"]
    assert app["auto_promotion_paused"] == paused[0]["reason"]
    assert resumed["paused"] == []


@SQLITE_ONLY
def test_a_workflow_of_an_app_that_does_not_exist_is_refused_with_exit_1(
    ledgerctl: Ledgerctl, repository: Repository
) -> None:
    argv = ["workflows", "create", "shop", "--repo", repository.url, "--app", "nope"]

    result = ledgerctl(*argv)

    assert result.code == 1
    assert result.stderr.startswith("ledgerctl: error: ") and result.stderr.count("\n") == 1


@SQLITE_ONLY
def test_a_build_made_by_a_job_names_the_commit_it_was_made_from(
    shop: Ledgerctl, repository: Repository
) -> None:
    sha = repository.commit({"app.txt": "v2\n"}, "Fix the basket\n\nIt lost items.")
    shop("workflows", "run", "shop", "--commit", sha, "--wait")

    (build,) = shop.ok("--json", "builds").json
    _, row = shop.ok("builds").lines

    assert build["commit"]["sha"] == sha
    assert build["commit"]["message"].startswith("Fix the basket")
    assert build["commit"]["repository"] == repository.url
    assert build["commit"]["author"] == "Alice Dev <alice@example.com>"
    assert row.endswith(f"{sha[:7]} Fix the basket")


# ----------------------------------------------------------------- the Docker runtime

MANIFEST = """\
services:
  web:
    port: 8000
    health: {path: /health, grace: 2, interval: 0.2, timeout: 1}
"""


@pytest.fixture
def docker_shop(
    docker_client: docker.DockerClient, docker_app: str, tmp_path: Path
) -> Iterator[tuple[Ledgerctl, Repository]]:
    """On a ledgerd of the Docker runtime: the workflow ``shop`` deploying a new app from
    a repository holding a tiny busybox HTTP app."""
    settings = Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="", runtime="docker"
    )
    repository = Repository(tmp_path / "git")
    write_context(repository.work, HTTP_APP, {"ledger.yml": MANIFEST})
    with InProcessLedgerd(settings) as server:
        ledgerctl = Ledgerctl(server.address, server.token)
        ledgerctl.environ["LEDGER_APP"] = docker_app
        ledgerctl.ok("apps", "create", docker_app)
        argv = ["workflows", "create", "shop", "--repo", repository.url, "--app", docker_app]
        ledgerctl.ok(*argv)
        yield ledgerctl, repository


@pytest.mark.docker
def test_a_job_that_deploys_exits_0_and_its_release_names_the_commit(
    docker_shop: tuple[Ledgerctl, Repository],
) -> None:
    ledgerctl, repository = docker_shop
    sha = repository.commit({}, "Serve the shop\n\nOn port 8000.")

    result = ledgerctl("workflows", "run", "shop", "--commit", sha, "--wait")
    (release,) = ledgerctl.ok("--json", "releases").json
    job = ledgerctl.ok("--json", "jobs", "info", result.stdout.strip()).json

    assert result.code == 0, result.stderr
    assert job["status"] == "succeeded"
    assert {s["name"] for s in job["steps"]} >= {"fetch", "build", "promote"}
    assert (release["active"], release["commit"]["sha"]) == (True, sha)
    assert ledgerctl.ok("releases").lines[1].endswith(f"{sha[:7]} Serve the shop")
