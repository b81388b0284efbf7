"""Deploys from git, end to end: a push to a bare repository whose post-receive hook sends a
signed GitHub webhook, and nothing else, builds that commit with the Docker runtime and
promotes it through its health check; people stay in charge (a rollback pauses automatic
promotion until resumed); pull requests get review apps; a crash mid-job is survived.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.e2e.conftest import Deployment
from tests.support import webhooks
from tests.support.docker import (
    HTTP_APP,
    NEVER_HEALTHY_APP,
    docker_client,
    remove_app,
    unique_app,
    write_context,
)
from tests.support.git import Repository, install_webhook
from tests.support.webhook_payloads import GITHUB_PULL_REQUEST, GITHUB_STATUS, changed

__all__ = ["docker_client"]
pytestmark = pytest.mark.docker

MANIFEST = """\
services:
  web:
    port: 8000
    health: {path: /health, grace: 3, interval: 0.2, timeout: 1}
"""
SLOW_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sleep", "6"]
COPY app.sh /app.sh
CMD ["/bin/busybox", "sh", "/app.sh"]
"""
WAIT = 120.0


class Site:
    """A ledgerd on the Docker runtime, an app, and a workflow whose repository tells it of
    every push through a post-receive hook."""

    def __init__(self, deployment: Deployment, app: str, root: Path) -> None:
        self.deployment, self.app = deployment, app
        self.repo = Repository(root / "git")
        created = deployment.js(
            "workflows", "create", "site", "--repo", self.repo.url, "--app", app,
            "--review-apps", "--review-env", "GREETING=review",
        )  # fmt: skip
        self.secret, self.url = created["secret"], created["webhook_url"]
        install_webhook(self.repo, self.url, self.secret, sys.executable)

    def push(self, message: str, app_sh: str = HTTP_APP, dockerfile: str = "") -> str:
        """Commit a source tree running ``app_sh`` and push it; the commit's sha."""
        files = {"ledger.yml": MANIFEST, "message.txt": message}
        if dockerfile:
            files["Dockerfile"] = dockerfile
        write_context(self.repo.work, app_sh, files)
        return self.repo.commit({}, message)

    def jobs(self) -> list[dict[str, Any]]:
        return list(self.deployment.js("workflows", "jobs", "site"))

    def job_of(self, sha: str) -> dict[str, Any]:
        """The job of commit ``sha`` once it has ended."""
        return until(lambda: next((j for j in self.jobs() if j["sha"] == sha and ended(j)), None))

    def info(self, app: str = "") -> dict[str, Any]:
        return dict(self.deployment.js("apps", "info", app or self.app))

    def active_commit(self, app: str = "") -> str:
        active = self.info(app)["active_release_id"]
        if not active:
            return ""
        release = self.deployment.js("releases", "info", active, "-a", app or self.app)
        return str((release.get("commit") or {}).get("sha", ""))


def ended(job: dict[str, Any]) -> bool:
    return job["status"] in ("succeeded", "failed", "superseded")


def until(found: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out")


@pytest.fixture
def site(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[Site]:
    env = {"LEDGER_DATA": str(tmp_path / "data"), "LEDGER_RUNTIME": "docker"}
    deployment = Deployment(env=env, cwd=tmp_path)
    deployment.start()
    app = unique_app("wf")
    deployment.ctl("apps", "create", app)
    yield Site(deployment, app, tmp_path)
    for process in deployment.started:
        process.stop()
    for name in (app, f"{app}-pr-1"):
        remove_app(docker_client, name)


def test_a_push_alone_builds_that_commit_and_promotes_it_through_its_health_check(
    site: Site, docker_client: docker.DockerClient
) -> None:
    sha = site.push("Serve the shop\n\nFirst version.")
    job = site.job_of(sha)
    assert job["status"] == "succeeded", job
    assert until(lambda: site.active_commit() == sha)
    active = site.info()["active_release_id"]
    release = site.deployment.js("releases", "info", active, "-a", site.app)
    assert release["commit"]["message"].startswith("Serve the shop")
    assert release["commit"]["author"] == "Alice Dev <alice@example.com>"
    running = docker_client.containers.list(filters={"label": f"ledger.release={active}"})
    assert running, "the promoted release has no container"
    promote = site.deployment.js("jobs", "info", job["id"])["steps"][-1]
    assert (promote["name"], promote["status"]) == ("promote", "succeeded")


def test_a_rollback_pauses_the_next_push_until_someone_resumes(site: Site) -> None:
    first = site.push("v1")
    assert site.job_of(first)["status"] == "succeeded"
    v1 = site.info()["active_release_id"]
    second = site.push("v2")
    assert until(lambda: site.active_commit() == second)
    site.deployment.ctl("releases", "rollback", v1, "-a", site.app, "--wait")
    assert "rolled back to v1" in site.info()["auto_promotion_paused"]

    third = site.push("v3")
    paused = site.deployment.js("jobs", "info", site.job_of(third)["id"])
    promote = next(s for s in paused["steps"] if s["name"] == "promote")
    assert promote["status"] == "skipped" and promote["detail"].startswith("paused: ")
    assert site.active_commit() == first  # the rollback's copy of v1 still runs

    site.deployment.ctl("workflows", "resume", "site")
    fourth = site.push("v4")
    assert site.job_of(fourth)["status"] == "succeeded"
    assert until(lambda: site.active_commit() == fourth)


def test_a_failing_health_check_fails_the_job_and_pauses_the_app(site: Site) -> None:
    good = site.push("good")
    assert site.job_of(good)["status"] == "succeeded"
    bad = site.push("never healthy", app_sh=NEVER_HEALTHY_APP)
    job = site.job_of(bad)
    assert job["status"] == "failed" and "rolled_back" in job["cause"]
    assert "failed and was rolled back" in site.info()["auto_promotion_paused"]
    assert site.active_commit() == good


def test_a_pull_request_gets_a_review_app_archived_when_it_closes(
    site: Site, docker_client: docker.DockerClient
) -> None:
    site.repo.checkout("feature")
    sha = site.push("A feature")
    site.repo.checkout("main")
    pull = changed(GITHUB_PULL_REQUEST, number=1, pull_request__head__sha=sha)
    pull["pull_request"]["head"]["ref"] = "feature"
    assert webhooks.github(site.url, site.secret, "pull_request", pull).status == 202
    review = f"{site.app}-pr-1"
    job = until(lambda: next((j for j in site.jobs() if j["kind"] == "review" and ended(j)), None))
    assert job["status"] == "succeeded", job
    assert site.active_commit(review) == sha
    assert site.deployment.js("env", "-a", review)["env"] == {"GREETING": "***"}

    closed = changed(pull, action="closed")
    assert webhooks.github(site.url, site.secret, "pull_request", closed).status == 202
    until(lambda: site.info(review).get("archived"))
    assert docker_client.containers.list(filters={"label": f"ledger.app={review}"}) == []
    assert site.info(review)["release_count"] == 1  # the history stays


def test_a_release_is_promoted_only_once_ci_reports_success_on_its_commit(site: Site) -> None:
    site.deployment.ctl("workflows", "update", "site", "--wait-for-ci")
    sha = site.push("needs CI")
    until(lambda: any(j["sha"] == sha and j["status"] == "waiting" for j in site.jobs()))
    assert site.active_commit() == ""
    status = changed(GITHUB_STATUS, sha=sha, state="success")
    assert webhooks.github(site.url, site.secret, "status", status).status == 200
    assert site.job_of(sha)["status"] == "succeeded"
    assert until(lambda: site.active_commit() == sha)


def test_a_job_cut_by_a_crash_ends_with_a_clear_cause_and_builds_once(site: Site) -> None:
    sha = site.push("slow build", dockerfile=SLOW_DOCKERFILE)
    until(lambda: any(j["sha"] == sha and j["status"] == "running" for j in site.jobs()))
    builds = until(lambda: site.deployment.js("builds", "-a", site.app))
    until(lambda: site.deployment.js("builds", "-a", site.app)[0]["status"] == "running")
    site.deployment.crash()
    site.deployment.start()
    job = site.job_of(sha)
    assert job["status"] == "failed" and "interrupted" in job["cause"], job
    assert len(site.deployment.js("builds", "-a", site.app)) == len(builds) == 1
