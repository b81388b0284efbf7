"""`ledgerctl` against a `ledgerd` process on the swarm runtime (``LEDGER_RUNTIME=swarm``),
on a single-node swarm of the machine's engine: builds from source, promotions that
Swarm performs and the ledger watches, a failing release rolled back, and a ledgerd
killed mid-rollout that finishes it on restart. What runs is what the manager lists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from runtime.docker.engine import Engine
from runtime.swarm.services import Services
from tests.e2e.conftest import Deployment
from tests.e2e.test_docker_promotions import (
    active,
    deploy,
    get,
    source,
    wait_for_end,
    wait_for_step,
)
from tests.support.docker import EXITING_APP, HTTP_APP, docker_client, remove_app, unique_app
from tests.support.swarm import swarm

__all__ = ["docker_client", "swarm"]

pytestmark = pytest.mark.docker

# Swarm waits a monitor window (grace + 3 checks + a margin) after each task: keep it short.
QUICK = {"grace": 1.0, "timeout": 0.5}


@pytest.fixture
def cluster(
    swarm: docker.DockerClient, tmp_path: Path
) -> Iterator[tuple[Deployment, str, Services]]:
    """A ledgerd on the swarm runtime (SQLite), a unique app created on it, and a view of
    the manager's services."""
    env = {"LEDGER_DATA": str(tmp_path / "data"), "LEDGER_RUNTIME": "swarm"}
    deployment = Deployment(env=env, cwd=tmp_path)
    deployment.start()
    app = unique_app("e2e")
    deployment.ctl("apps", "create", app)
    engine = Engine()
    services = Services(engine)
    yield deployment, app, services
    for process in deployment.started:
        process.stop()
    for service in services.of_app(app):
        services.remove(service)
    engine.close()
    remove_app(swarm, app)


def running(services: Services, app: str) -> list[tuple[str, int | None]]:
    """(release id, port) of the app's running tasks."""
    return sorted(
        (task.release, task.port)
        for service in services.of_app(app)
        for task in services.tasks(service)
        if task.state == "running"
    )


def test_a_deploy_runs_the_release_as_a_service_whose_tasks_serve(cluster, tmp_path):
    d, app, services = cluster

    deployed = deploy(d, app, source(tmp_path, "v1", HTTP_APP, **QUICK))

    release = deployed["promotion"]["release_id"]
    assert deployed["promotion"]["status"] == "succeeded"
    assert active(d, app) == release
    tasks = running(services, app)
    assert [r for r, _ in tasks] == [release, release]
    assert all(port is not None and get(port, "/health").strip() == "ok" for _, port in tasks)
    assert [s.name for s in services.of_app(app)] == [f"{app}-web"]


def test_a_release_that_exits_is_rolled_back_and_the_old_tasks_keep_serving(
    cluster, tmp_path, swarm
):
    d, app, services = cluster
    good = deploy(d, app, source(tmp_path, "good", HTTP_APP, **QUICK))["promotion"]["release_id"]
    before = running(services, app)

    result = d.ctl(
        "-a", app, "deploy", source(tmp_path, "bad", EXITING_APP, **QUICK), "--wait", ok=False
    )

    assert result.code == 3
    assert "exit" in result.err.lower()
    promotion = d.js("-a", app, "promotions")[0]
    assert (promotion["status"], promotion["cause"]["kind"]) == ("rolled_back", "process_failed")
    assert promotion["cause"]["node"] == swarm.info()["Name"]
    assert active(d, app) == good
    assert running(services, app) == before


def test_a_ledgerd_killed_mid_rollout_finishes_it_on_restart(cluster, tmp_path):
    d, app, services = cluster
    deploy(d, app, source(tmp_path, "v1", HTTP_APP, **QUICK))
    started = d.js("-a", app, "deploy", source(tmp_path, "v2", HTTP_APP, scale=3, **QUICK))
    promotion_id = started["promotion"]["id"]
    wait_for_step(d, app, promotion_id, "container_healthy")

    d.crash()
    d.start()

    final = wait_for_end(d, app, promotion_id)
    assert final["status"] == "succeeded"
    assert [r for r, _ in running(services, app)] == [final["release_id"]] * 3
    updates = [s for s in final["steps"] if s["kind"] == "service_updated"]
    assert len(updates) == 1, "the restarted ledgerd applied the spec a second time"
