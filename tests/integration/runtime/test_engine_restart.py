"""DockerRuntime when its Docker Engine restarts: idle, in the middle of a rollout, for
longer than the promotion's deadline, and while the rollout is cancelled.

The engine is a private one (``tests.support.cluster``, one node): a ``dockerd`` of its
own in a network namespace, which the test stops and starts at will; the machine's own
engine is never touched. The containers use host networking in that namespace, so the
runtime's calls (its health checks on ``127.0.0.1:$PORT``) and the test's own reads of
the replicas run in a thread that has entered the namespace (``setns``).
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from ledger.domain import CauseKind, StepKind
from ledger.ids import BUILD, new_id
from ledger.manifest import Manifest
from ledger.runtime import BuildRequest, ReleaseSpec
from runtime.docker import DockerRuntime
from tests.integration.runtime.support import QUICK, Recorder, get, plan, release, web
from tests.integration.runtime.test_builds import Log
from tests.support.cluster import Cluster, missing_prerequisites, running_cluster
from tests.support.docker import BUSYBOX, HTTP_APP, skip_or_fail, unique_app, write_context

# One private engine per module: under xdist's --dist loadgroup its tests stay on one worker.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("swarm-cluster")]

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
SCALE = 3
BACK_WITHIN = 30.0  # seconds the live containers get to run again once the engine answers
# The HTTP app, listening only after $DELAY seconds (0 when unset).
SLOW_APP = 'sleep "${DELAY:-0}"\n' + HTTP_APP


def enter_namespace(path: str) -> None:
    """Move the calling thread into the network namespace at ``path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    handle = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(handle, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns {path}: {os.strerror(error)}")
    finally:
        os.close(handle)


class Node:
    """The private engine, a runtime on it, and threads inside its network namespace."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.engine = cluster.manager.engine
        self.runtime = DockerRuntime(cluster.manager_url, stop_timeout=2)
        self.inside = ThreadPoolExecutor(
            max_workers=2,
            thread_name_prefix="netns",
            initializer=enter_namespace,
            initargs=(cluster.network.namespaces[0].path,),
        )

    def run(self, call: Callable[[], T]) -> Future[T]:
        """Run ``call`` in the namespace (where the replicas listen)."""
        return self.inside.submit(call)

    def stop_engine(self) -> None:
        """SIGTERM the engine and wait for it to exit (it stops its containers first)."""
        self.engine.terminate()
        assert self.engine.wait_stopped(time.monotonic() + 30.0), "dockerd had to be killed"

    def start_engine(self) -> None:
        self.engine.start()
        self.engine.wait_ready(time.monotonic() + 60.0)

    def containers(self, app: str) -> list[dict[str, Any]]:
        """The engine's rows of the app's containers, whatever their state."""
        client = self.cluster.manager.client
        rows: list[dict[str, Any]] = client.api.containers(
            all=True, filters={"label": f"ledger.app={app}"}
        )
        return rows

    def values(self, app: str) -> list[str]:
        """What each running replica answers on /value, asked from inside the namespace."""
        ports = [c.port for c in self.runtime.containers.of_app(app) if c.running]
        return self.run(lambda: sorted(get(port, "/value")[1] for port in ports)).result(30)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A private engine (skipped without root or a tool outside CI, failed in CI)."""
    reason = missing_prerequisites()
    if reason:
        skip_or_fail(reason)
    if not BUSYBOX.is_file():
        skip_or_fail(f"{BUSYBOX} is missing (Debian package busybox-static)")
    with running_cluster(1, logs=tmp_path_factory.mktemp("engine-logs")) as cluster:
        made = Node(cluster)
        try:
            yield made
        finally:
            made.inside.shutdown(wait=True)
            made.runtime.close()


@pytest.fixture(scope="module")
def image(node: Node, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The HTTP app (healthy after ``$DELAY`` seconds), built on the private engine."""
    request = BuildRequest(
        app="engine-images",
        build_id=new_id(BUILD),
        source=write_context(tmp_path_factory.mktemp("source"), SLOW_APP),
        manifest=Manifest((web(SCALE, QUICK),)),
    )
    return node.runtime.build(request, Log()).ids["web"]


def version(app: str, image: str, number: int, delay: float = 0) -> ReleaseSpec:
    env = {"VALUE": f"value of v{number}"} | ({"DELAY": f"{delay:g}"} if delay else {})
    return release(app, image, number, web(SCALE, QUICK), env=env)


def deployed(node: Node, image: str) -> ReleaseSpec:
    """A new app whose v1 runs (three replicas)."""
    first = version(unique_app("e"), image, 1)
    assert node.run(lambda: node.runtime.roll_out(plan(first), Recorder())).result(60) is None
    return first


def running_of(node: Node, app: str) -> dict[str, str]:
    """Name → release of the app's running containers."""
    return {
        row["Names"][0].lstrip("/"): row["Labels"]["ledger.release"]
        for row in node.containers(app)
        if row["State"] == "running"
    }


def wait_for_step(progress: Recorder, kind: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while kind not in progress.kinds:
        assert time.monotonic() < deadline, f"no {kind} step in {within:g} s: {progress.kinds}"
        time.sleep(0.01)


def test_the_live_replicas_run_again_after_an_idle_engine_restart(node: Node, image: str) -> None:
    live = deployed(node, image)
    before = running_of(node, live.app)

    node.stop_engine()
    node.start_engine()

    deadline = time.monotonic() + BACK_WITHIN
    while running_of(node, live.app) != before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running_of(node, live.app) == before
    assert len(node.containers(live.app)) == SCALE
    assert node.values(live.app) == ["value of v1"] * SCALE


def test_a_rollout_that_loses_the_engine_waits_for_it_and_succeeds_leaving_no_orphan(
    node: Node, image: str
) -> None:
    first = deployed(node, image)
    second = version(first.app, image, 2)
    progress = Recorder()
    rollout = node.run(lambda: node.runtime.roll_out(plan(second, first), progress))
    wait_for_step(progress, StepKind.CONTAINER_STARTED)

    node.stop_engine()
    node.start_engine()

    assert rollout.result(90) is None
    kinds = progress.kinds
    assert kinds.count(StepKind.ENGINE_LOST) >= 1
    back = kinds.index(StepKind.ENGINE_RECONNECTED)
    assert kinds[back:].count(StepKind.CONTAINER_HEALTHY) >= 1
    assert set(running_of(node, first.app).values()) == {second.release_id}
    assert len(node.containers(first.app)) == SCALE  # nothing else, running or not
    assert node.values(first.app) == ["value of v2"] * SCALE


def test_an_engine_down_past_the_deadline_fails_the_rollout_and_the_restore_brings_back_v1(
    node: Node, image: str
) -> None:
    first = deployed(node, image)
    second = version(first.app, image, 2)
    promotion = plan(second, first, deadline=8)
    progress = Recorder()
    rollout = node.run(lambda: node.runtime.roll_out(promotion, progress))
    wait_for_step(progress, StepKind.CONTAINER_STARTED)
    node.stop_engine()

    cause = rollout.result(60)

    assert cause is not None and cause.kind == CauseKind.DEADLINE_EXCEEDED
    assert "does not answer" in cause.message
    assert progress.kinds[-1] == StepKind.ENGINE_LOST
    restore = node.run(lambda: node.runtime.restore(promotion, progress))
    node.start_engine()
    assert restore.result(90) is None
    assert progress.kinds[-1] != StepKind.ENGINE_LOST
    assert StepKind.ENGINE_RECONNECTED in progress.kinds
    assert set(running_of(node, first.app).values()) == {first.release_id}
    assert len(node.containers(first.app)) == SCALE
    assert node.values(first.app) == ["value of v1"] * SCALE


def test_a_new_replica_the_engine_stopped_before_it_was_healthy_is_removed_and_started_again(
    node: Node, image: str
) -> None:
    first = deployed(node, image)
    second = version(first.app, image, 2, delay=1.5)  # not healthy when the engine goes
    progress = Recorder()
    rollout = node.run(lambda: node.runtime.roll_out(plan(second, first), progress))
    wait_for_step(progress, StepKind.CONTAINER_STARTED)

    node.stop_engine()
    node.start_engine()

    assert rollout.result(90) is None
    kinds = progress.kinds
    back = kinds.index(StepKind.ENGINE_RECONNECTED)
    assert kinds[:back] == [StepKind.CONTAINER_STARTED, StepKind.ENGINE_LOST]
    assert kinds[back + 1] == StepKind.CONTAINER_REMOVED
    assert progress.messages(StepKind.CONTAINER_REMOVED)[0].startswith("web.1 removed (v2, ")
    assert set(running_of(node, first.app).values()) == {second.release_id}
    assert len(node.containers(first.app)) == SCALE
    assert node.values(first.app) == ["value of v2"] * SCALE


def test_a_rollout_cancelled_while_the_engine_is_down_ends_cancelled_without_waiting_for_it(
    node: Node, image: str
) -> None:
    first = deployed(node, image)
    second = version(first.app, image, 2)
    promotion = plan(second, first)
    progress = Recorder()
    rollout = node.run(lambda: node.runtime.roll_out(promotion, progress))
    wait_for_step(progress, StepKind.CONTAINER_STARTED)
    node.stop_engine()
    wait_for_step(progress, StepKind.ENGINE_LOST)

    progress.cancel()

    cause = rollout.result(30)  # the engine is still down
    assert cause is not None and cause.kind == CauseKind.CANCELLED
    assert "does not answer" in cause.message
    node.start_engine()
    assert node.run(lambda: node.runtime.restore(promotion, progress)).result(90) is None
    assert set(running_of(node, first.app).values()) == {first.release_id}
    assert len(node.containers(first.app)) == SCALE
    assert node.values(first.app) == ["value of v1"] * SCALE
