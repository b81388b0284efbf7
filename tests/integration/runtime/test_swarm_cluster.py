"""SwarmRuntime on a real three-node swarm made by the tests (``tests.support.cluster``).

``node1`` (the manager, which also builds) and the workers ``node2`` and ``node3`` are
engines of their own in network namespaces of their own; the images reach the workers
through the cluster's registry (``LEDGER_REGISTRY``: builds push, releases name images
by digest). Every task runs on its node's network, so each answers at its node's address
on its own port, and a task can tell which node it is on: the image that fails on one
node only checks whether the node has that node's address.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.domain import CauseKind, StepKind
from ledger.ids import BUILD, new_id
from ledger.manifest import Health, Manifest
from ledger.runtime import BuildRequest, ReleaseSpec
from runtime.swarm import SwarmRuntime
from runtime.swarm.records import TaskInfo
from tests.contract.harness import Background, wait_until
from tests.integration.runtime.support import release, web
from tests.integration.runtime.test_builds import Log
from tests.support.cluster import Cluster, cluster
from tests.support.docker import BUSYBOX, HTTP_APP, skip_or_fail, unique_app, write_context
from tests.support.runtimes import Recorder, plan

__all__ = ["cluster"]

# One cluster per module: under xdist's --dist loadgroup its tests stay on one worker.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("swarm-cluster")]

NODES = {"node1", "node2", "node3"}
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Swarm waits a monitor window (grace + 3 checks + a margin) after each task: keep it short.
QUICK = Health(path="/health", grace=1.0, interval=0.2, timeout=0.5)

DEADLINE = 15  # seconds: an update over three nodes takes about 8

# The HTTP app, except on the node that has ADDRESS: there it says so and exits with 3.
BROKEN_ON = """\
if ip -o -4 addr show | grep -qF "inet {address}/"; then
  echo "this node has {address}: failing on purpose"
  exit 3
fi
"""


@pytest.fixture(scope="module")
def runtime(cluster: Cluster) -> Iterator[SwarmRuntime]:
    """The swarm runtime on the cluster's manager, pushing to the cluster's registry."""
    swarm_runtime = SwarmRuntime(
        cluster.manager_url, registry=cluster.registry.address, stop_grace=2
    )
    yield swarm_runtime
    swarm_runtime.close()


@pytest.fixture(scope="module")
def images(
    runtime: SwarmRuntime, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The module's images, built by the runtime and pushed: ``http`` (serves its
    ``VALUE``) and ``broken on node3`` (the same, but exits on node3)."""
    if not BUSYBOX.is_file():
        skip_or_fail(f"{BUSYBOX} is missing (Debian package busybox-static)")
    sources = tmp_path_factory.mktemp("sources")
    broken = BROKEN_ON.format(address=cluster.node("node3").address) + HTTP_APP
    return {
        "http": build(runtime, sources / "http", HTTP_APP),
        "broken on node3": build(runtime, sources / "broken", broken),
    }


def build(runtime: SwarmRuntime, source: Path, app_sh: str) -> str:
    """Build ``app_sh`` as service ``web`` with the runtime: the image the release records."""
    request = BuildRequest(
        app="cluster-images",
        build_id=new_id(BUILD),
        source=write_context(source, app_sh),
        manifest=Manifest((web(3, QUICK),)),
    )
    return runtime.build(request, Log()).ids["web"]


@pytest.fixture
def app(runtime: SwarmRuntime) -> Iterator[str]:
    """A unique app; its services are removed after the test (not waited for: their
    tasks hold port blocks no later release draws)."""
    name = unique_app("c")
    yield name
    for service in runtime.services.of_app(name):
        runtime.services.remove(service)


def version(app: str, image: str, number: int) -> ReleaseSpec:
    """Release ``number`` of ``app``: three replicas of ``image`` serving "value of vN"."""
    return release(app, image, number, web(3, QUICK), images={"web": image})


def running(runtime: SwarmRuntime, app: str) -> list[TaskInfo]:
    """The app's tasks running and meant to."""
    return [
        task
        for service in runtime.services.of_app(app)
        for task in runtime.services.tasks(service)
        if task.state == "running" and task.desired == "running"
    ]


def answers(runtime: SwarmRuntime, cluster: Cluster, app: str) -> list[tuple[str, str]]:
    """(node, what it answers on /value at that node's address) of each running task."""
    found = []
    for task in running(runtime, app):
        node = runtime.services.node_name(task.node_id)
        found.append((node, get(cluster.node(node).address, task.port, "/value")))
    return sorted(found)


def nodes_named(messages: list[str]) -> set[str]:
    """The nodes that steps name ("… on node node2 …")."""
    return {node for node in NODES for message in messages if f"on node {node} " in message}


def get(host: str, port: int | None, path: str) -> str:
    """GET http://host:port/path (never through a proxy: the nodes are on this machine)."""
    with DIRECT.open(f"http://{host}:{port}{path}", timeout=5) as response:
        return str(response.read().decode())


def test_three_replicas_run_one_on_each_node_and_answer_at_its_address(
    runtime: SwarmRuntime, cluster: Cluster, images: dict[str, str], app: str
) -> None:
    progress = Recorder()

    cause = runtime.roll_out(plan(version(app, images["http"], 1)), progress)

    assert cause is None
    assert answers(runtime, cluster, app) == [(node, "value of v1") for node in sorted(NODES)]
    assert nodes_named(progress.messages(StepKind.CONTAINER_HEALTHY)) == NODES


def test_a_rolling_update_replaces_the_task_on_each_node_and_leaves_only_v2(
    runtime: SwarmRuntime, cluster: Cluster, images: dict[str, str], app: str
) -> None:
    first = version(app, images["http"], 1)
    assert runtime.roll_out(plan(first), Recorder()) is None
    progress = Recorder()

    cause = runtime.roll_out(plan(version(app, images["http"], 2), first), progress)

    assert cause is None
    now = answers(runtime, cluster, app)
    assert [value for _, value in now] == ["value of v2"] * 3
    stopped = [m for m in progress.messages(StepKind.CONTAINER_STOPPED) if "(v1)" in m]
    healthy = [m for m in progress.messages(StepKind.CONTAINER_HEALTHY) if "(v2," in m]
    assert nodes_named(stopped) == NODES
    assert nodes_named(healthy) == {node for node, _ in now}


def test_a_task_failing_on_one_node_rolls_the_whole_release_back_and_names_that_node(
    runtime: SwarmRuntime, cluster: Cluster, images: dict[str, str], app: str
) -> None:
    first = version(app, images["http"], 1)
    with cluster.drained("node3"):  # v1 on node1 and node2: v2's first task goes to node3
        assert runtime.roll_out(plan(first), Recorder()) is None
    promotion = plan(version(app, images["broken on node3"], 2), first)

    progress = Recorder()

    cause = runtime.roll_out(promotion, progress)
    restored = runtime.restore(promotion, Recorder())

    assert cause is not None
    assert (cause.kind, cause.node, cause.exit_code) == (CauseKind.PROCESS_FAILED, "node3", 3)
    assert "on node node3" in cause.message
    assert nodes_named(progress.messages(StepKind.CONTAINER_FAILED)) == {"node3"}
    assert restored is None
    assert [value for _, value in answers(runtime, cluster, app)] == ["value of v1"] * 3


def test_a_node_that_dies_mid_update_ends_the_rollout_by_the_deadline_or_without_it(
    runtime: SwarmRuntime, cluster: Cluster, images: dict[str, str], app: str
) -> None:
    """Swarm moves the dead node's slot elsewhere, but its old task stays "running" on
    the dead node as far as the manager knows; either way the rollout ends, recorded."""
    first = version(app, images["http"], 1)
    assert runtime.roll_out(plan(first), Recorder()) is None
    promotion = plan(version(app, images["http"], 2), first, deadline=DEADLINE)
    progress = Recorder()
    rollout = Background(runtime, promotion, progress)
    wait_until(lambda: any("(v2," in m for m in progress.messages(StepKind.CONTAINER_HEALTHY)))

    try:
        cluster.crash("node3")
        cause = rollout.result(within=DEADLINE + 10)
    finally:
        cluster.revive("node3")  # the cluster whole again; its stale tasks end as failed

    assert cause is None or cause.kind == CauseKind.DEADLINE_EXCEEDED, cause
    assert cause is None or f"deadline ({DEADLINE} s) passed" in cause.message
    assert progress.messages(StepKind.SERVICE_UPDATED)
    if cause is not None:
        assert runtime.restore(promotion, Recorder()) is None
    wanted = "value of v1" if cause is not None else "value of v2"
    assert [value for _, value in answers(runtime, cluster, app)] == [wanted] * 3
