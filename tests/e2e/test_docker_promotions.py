"""Real rollouts: `ledgerctl` against a `ledgerd` process driving the machine's Docker Engine.

Each test builds tiny busybox apps from source directories (a Dockerfile, an ``app.sh``
and a ``ledger.yml``), deploys them and checks what runs on the engine: which release
the containers belong to, what they answer on their port, which env they see.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.e2e.conftest import Deployment
from tests.support.docker import (
    EXITING_APP,
    FAILING_HEALTH_APP,
    HTTP_APP,
    MANAGED,
    NEVER_HEALTHY_APP,
    docker_client,
    remove_app,
    unique_app,
    write_context,
)

__all__ = ["docker_client"]

MANIFEST = """\
services:
  web:
    port: 8000
    scale: {scale}
    health: {{path: /health, grace: {grace}, interval: 0.2, timeout: {timeout}}}
"""


@pytest.fixture
def cluster(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[tuple[Deployment, str]]:
    """A ledgerd on the docker runtime (SQLite), and a unique app created on it."""
    env = {"LEDGER_DATA": str(tmp_path / "data"), "LEDGER_RUNTIME": "docker"}
    deployment = Deployment(env=env, cwd=tmp_path)
    deployment.start()
    app = unique_app("e2e")
    deployment.ctl("apps", "create", app)
    yield deployment, app
    for process in deployment.started:
        process.stop()
    remove_app(docker_client, app)


def source(
    tmp_path: Path, name: str, app_sh: str, scale: int = 2, grace: float = 3, timeout: float = 1
) -> str:
    """A source directory whose `ledger.yml` runs ``app_sh`` as an HTTP service."""
    files = {"ledger.yml": MANIFEST.format(scale=scale, grace=grace, timeout=timeout)}
    return str(write_context(tmp_path / "src" / name, app_sh, files))


def running(client: docker.DockerClient, app: str) -> list[tuple[str, int]]:
    """(release id, port) of the app's running containers."""
    labels = [f"{MANAGED}=true", f"ledger.app={app}"]
    found = client.containers.list(filters={"label": labels, "status": "running"})
    return sorted((c.labels["ledger.release"], int(c.labels["ledger.port"])) for c in found)


def every_container(client: docker.DockerClient, app: str) -> list[str]:
    labels = [f"{MANAGED}=true", f"ledger.app={app}"]
    return [c.name for c in client.containers.list(all=True, filters={"label": labels})]


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return str(response.read().decode())


def deploy(d: Deployment, app: str, directory: str, *args: str, ok: bool = True) -> dict:
    result = d.ctl("--json", "-a", app, "deploy", directory, "--wait", *args, ok=ok)
    return dict(json.loads(result.out)) if result.out.strip() else {"exit": result.code}


def active(d: Deployment, app: str) -> str:
    return str(d.js("apps", "info", app)["active_release_id"])


def test_a_deploy_runs_the_release_containers_and_they_serve(cluster, docker_client, tmp_path):
    d, app = cluster
    deployed = deploy(d, app, source(tmp_path, "v1", HTTP_APP))
    release = deployed["promotion"]["release_id"]
    assert deployed["promotion"]["status"] == "succeeded"
    assert active(d, app) == release
    containers = running(docker_client, app)
    assert [r for r, _ in containers] == [release, release]
    assert all(get(port, "/health").strip() == "ok" for _, port in containers)
    steps = [
        s["kind"]
        for s in d.js("-a", app, "promotions", "info", deployed["promotion"]["id"])["steps"]
    ]
    assert steps.count("container_started") == 2 and steps.count("container_healthy") == 2


def test_an_env_change_with_promote_restarts_the_containers_with_the_new_value(
    cluster, docker_client, tmp_path
):
    d, app = cluster
    deploy(d, app, source(tmp_path, "v1", HTTP_APP))
    changed = d.js("-a", app, "env", "set", "VALUE=blue", "--promote", "--wait")
    release = changed["release_id"] if "release_id" in changed else changed["release"]["id"]
    containers = running(docker_client, app)
    assert {r for r, _ in containers} == {release}
    assert [get(port, "/value") for _, port in containers] == ["blue", "blue"]


@pytest.mark.parametrize(
    ("name", "app_sh", "kind", "evidence"),
    [
        ("exits", EXITING_APP, "process_failed", "exit"),
        ("http-500", FAILING_HEALTH_APP, "health_check_failed", "500"),
    ],
)
def test_a_failing_release_is_rolled_back_and_the_old_containers_keep_serving(
    cluster, docker_client, tmp_path, name, app_sh, kind, evidence
):
    d, app = cluster
    good = deploy(d, app, source(tmp_path, "good", HTTP_APP))["promotion"]["release_id"]
    before = running(docker_client, app)

    result = d.ctl("-a", app, "deploy", source(tmp_path, name, app_sh), "--wait", ok=False)

    assert result.code == 3
    assert evidence in result.err.lower()  # the reason, not a bare "rolled back"
    assert active(d, app) == good
    promotion = d.js("-a", app, "promotions")[0]
    assert (promotion["status"], promotion["cause"]["kind"]) == ("rolled_back", kind)
    assert promotion["cause"]["service"] == "web" and promotion["cause"]["container"]
    assert running(docker_client, app) == before
    assert all(get(port, "/health").strip() == "ok" for _, port in before)
    assert len(every_container(docker_client, app)) == 2  # nothing of the failed release left


def test_a_release_never_healthy_before_the_deadline_is_rolled_back(
    cluster, docker_client, tmp_path
):
    d, app = cluster
    good = deploy(d, app, source(tmp_path, "good", HTTP_APP))["promotion"]["release_id"]
    slow = source(tmp_path, "slow", NEVER_HEALTHY_APP, grace=60)

    result = d.ctl("-a", app, "deploy", slow, "--wait", "--timeout", "3", ok=False)

    assert result.code == 3
    assert "deadline" in result.err.lower()
    promotion = d.js("-a", app, "promotions")[0]
    assert promotion["cause"]["kind"] == "deadline_exceeded"
    assert active(d, app) == good
    assert {r for r, _ in running(docker_client, app)} == {good}


def test_a_cancelled_promotion_stops_and_the_old_release_keeps_running(
    cluster, docker_client, tmp_path
):
    d, app = cluster
    good = deploy(d, app, source(tmp_path, "good", HTTP_APP))["promotion"]["release_id"]
    started = d.js("-a", app, "deploy", source(tmp_path, "slow", NEVER_HEALTHY_APP, grace=120))
    promotion_id = started["promotion"]["id"]
    wait_for_step(d, app, promotion_id, "container_started")

    d.ctl("-a", app, "promotions", "cancel", promotion_id)

    final = wait_for_end(d, app, promotion_id)
    assert final["status"] == "cancelled"
    assert active(d, app) == good
    assert {r for r, _ in running(docker_client, app)} == {good}
    assert len(every_container(docker_client, app)) == 2


def test_a_ledgerd_killed_mid_rollout_finishes_it_on_restart_and_leaves_no_orphan(
    cluster, docker_client, tmp_path
):
    d, app = cluster
    deploy(d, app, source(tmp_path, "v1", HTTP_APP))
    started = d.js("-a", app, "deploy", source(tmp_path, "v2", HTTP_APP, scale=3))
    promotion_id = started["promotion"]["id"]
    wait_for_step(d, app, promotion_id, "container_healthy")

    d.crash()
    d.start()

    final = wait_for_end(d, app, promotion_id)
    assert final["status"] == "succeeded"
    release = final["release_id"]
    assert active(d, app) == release
    assert [r for r, _ in running(docker_client, app)] == [release] * 3
    assert len(every_container(docker_client, app)) == 3


def test_rollback_runs_the_old_image_with_its_env_and_promote_rolls_forward(
    cluster, docker_client, tmp_path
):
    d, app = cluster
    d.ctl("-a", app, "env", "set", "VALUE=one")
    first = deploy(d, app, source(tmp_path, "v1", HTTP_APP))["promotion"]["release_id"]
    d.ctl("-a", app, "env", "set", "VALUE=two", "--promote", "--wait")
    newer = active(d, app)

    rolled = d.js("-a", app, "releases", "rollback", first, "--wait")
    assert rolled["promotion"]["status"] == "succeeded"
    assert [get(port, "/value") for _, port in running(docker_client, app)] == ["one", "one"]

    d.ctl("-a", app, "releases", "promote", newer, "--wait")
    assert [get(port, "/value") for _, port in running(docker_client, app)] == ["two", "two"]
    assert active(d, app) == newer


def test_a_queued_promotion_runs_after_the_one_in_flight(cluster, docker_client, tmp_path):
    d, app = cluster
    slow_start = "sleep 2\n" + HTTP_APP  # the first rollout takes a while
    first = d.js("-a", app, "build", source(tmp_path, "v1", slow_start))["release_id"]
    second = d.js("-a", app, "build", source(tmp_path, "v2", HTTP_APP))["release_id"]
    d.ctl("-a", app, "releases", "promote", first)
    refused = d.ctl("-a", app, "releases", "promote", second, ok=False)
    assert refused.code != 0 and "in flight" in refused.err

    queued = d.js("-a", app, "releases", "promote", second, "--queue", "--wait")

    assert queued["status"] == "succeeded"
    assert active(d, app) == second
    assert {r for r, _ in running(docker_client, app)} == {second}


def wait_for_step(d: Deployment, app: str, promotion_id: str, kind: str) -> None:
    for _ in range(300):
        steps = d.js("-a", app, "promotions", "info", promotion_id)["steps"]
        if any(step["kind"] == kind for step in steps):
            return
        time.sleep(0.1)
    raise AssertionError(f"no {kind} step in promotion {promotion_id}")


def wait_for_end(d: Deployment, app: str, promotion_id: str) -> dict:
    terminal = {"succeeded", "rolled_back", "rollback_failed", "cancelled"}
    for _ in range(600):
        promotion = d.js("-a", app, "promotions", "info", promotion_id)
        if promotion["status"] in terminal:
            return dict(promotion)
        time.sleep(0.1)
    raise AssertionError(f"promotion {promotion_id} did not end")
