"""The seed story across a three-node swarm: `ledgerctl` against a `ledgerd` on the swarm
runtime (``LEDGER_RUNTIME=swarm``), whose manager and registry the test made.

``node1`` (the manager, which builds and pushes) and the workers ``node2`` and ``node3``
are engines of their own in network namespaces of their own (``tests.support.cluster``);
images reach the workers through the cluster's registry (``LEDGER_REGISTRY``). A deploy
from source spreads over the nodes, an env change rolls across them, a release that
fails on one node only is rolled back automatically with that node and cause recorded,
a rollback to the first release pulls it by digest again, and a crash keeps everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.test_docker_promotions import deploy, source
from tests.support.cluster import Cluster, cluster
from tests.support.docker import HTTP_APP, unique_app

__all__ = ["cluster"]

pytestmark = pytest.mark.docker

QUICK = {"grace": 1.0, "timeout": 0.5}  # Swarm's monitor window follows the health check
# The HTTP app, except on the node that has ADDRESS: there it says so and exits with 3.
BROKEN_ON = """\
if ip -o -4 addr show | grep -qF "inet {address}/"; then
  echo "this node has {address}: failing on purpose"
  exit 3
fi
"""


@pytest.fixture
def ledgerd(cluster: Cluster, tmp_path: Path) -> Iterator[Deployment]:
    """A ledgerd (SQLite) driving the cluster's manager, pushing to its registry."""
    env = {
        "LEDGER_DATA": str(tmp_path / "data"),
        "LEDGER_RUNTIME": "swarm",
        "LEDGER_DOCKER_HOST": cluster.manager_url,
        "LEDGER_REGISTRY": cluster.registry.address,
    }
    deployment = Deployment(env=env, cwd=tmp_path)
    deployment.start()
    yield deployment
    for process in deployment.started:
        process.stop()


def tasks(d: Deployment, app: str) -> list[tuple[str, str, int]]:
    """(node, state, release version) of each task `ledgerctl ps` shows running."""
    shown = d.js("-a", app, "ps")
    return sorted(
        (t["node"], t["state"], t["release_version"]) for t in shown if t["state"] == "running"
    )


def snapshot(d: Deployment, app: str) -> dict[str, Any]:
    return {
        "app": d.js("apps", "info", app),
        "releases": d.js("-a", app, "releases"),
        "promotions": d.js("-a", app, "promotions"),
        "history": d.js("-a", app, "history", "--limit", "1000"),
    }


def test_the_seed_story_across_three_nodes_with_a_failure_on_one_rolled_back(
    cluster: Cluster, ledgerd: Deployment, tmp_path: Path
) -> None:
    d, app = ledgerd, unique_app("seed")
    d.ctl("apps", "create", app)

    # A deploy from source: built on the manager, pushed, three replicas over the nodes.
    with cluster.drained("node3"):  # v1 on node1 and node2: node3 is empty afterwards
        first = deploy(d, app, source(tmp_path, "v1", HTTP_APP, scale=3, **QUICK))
    v1 = first["promotion"]["release_id"]
    assert first["promotion"]["status"] == "succeeded"
    repository = f"{cluster.registry.address}/{app}/web"
    build = d.js("-a", app, "builds", "info", first["build"]["id"])
    assert build["images"]["web"].startswith(f"{repository}@sha256:")
    assert d.js("-a", app, "releases", "info", v1)["image"] == f"{repository}:{build['id']}"
    log = d.ctl("-a", app, "builds", "logs", build["id"]).out
    assert f"pushed {build['images']['web']}" in log
    assert {node for node, _, _ in tasks(d, app)} == {"node1", "node2"}

    # A release that fails on node3 only: Swarm places its first task on the empty node3.
    broken = BROKEN_ON.format(address=cluster.node("node3").address) + HTTP_APP
    failed = d.ctl(
        "-a", app, "deploy", source(tmp_path, "bad", broken, scale=3, **QUICK), "--wait", ok=False
    )
    assert failed.code == 3
    promotion = d.js("-a", app, "promotions")[0]
    assert promotion["status"] == "rolled_back"
    cause = promotion["cause"]
    assert (cause["kind"], cause["node"], cause["exit_code"]) == ("process_failed", "node3", 3)
    assert "failing on purpose" in cause["output"] or "on node node3" in cause["message"]
    assert d.js("apps", "info", app)["active_release_id"] == v1
    assert [version for _, _, version in tasks(d, app)] == [1, 1, 1]

    # An env change rolls across the nodes.
    changed = d.js("-a", app, "env", "set", "VALUE=second", "--promote", "--wait")
    v3 = changed["release"]["id"]
    assert d.js("apps", "info", app)["active_release_id"] == v3
    assert [version for _, _, version in tasks(d, app)] == [3, 3, 3]
    steps = d.js("-a", app, "promotions", "info", changed["promotion"]["id"])["steps"]
    kinds = {step["kind"] for step in steps}
    assert {"service_updated", "update_state", "container_healthy"} <= kinds

    # A rollback to v1: a new release of v1's image, pulled by digest wherever it lands.
    rolled = d.js("-a", app, "releases", "rollback", v1, "--wait")
    assert rolled["promotion"]["status"] == "succeeded"
    assert len(tasks(d, app)) == 3

    # A crash (kill -9) and restart keeps everything, and the services keep running.
    before = snapshot(d, app)
    d.crash()
    d.start()
    assert snapshot(d, app) == before
    assert len(tasks(d, app)) == 3
