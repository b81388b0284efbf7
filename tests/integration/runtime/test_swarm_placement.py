"""Where the app's tasks run on a single-node swarm, as ``SwarmRuntime.tasks`` reads them
from the manager (the session's ``swarm`` fixture: the machine's engine as a manager).
One rollout: a Swarm update takes seconds."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from runtime.swarm import SwarmRuntime
from tests.support.docker import TestImages
from tests.support.swarm import swarm

from .support import Recorder, plan, release

__all__ = ["swarm"]

pytestmark = pytest.mark.docker


@pytest.fixture
def swarm_runtime(swarm: docker.DockerClient, docker_app: str) -> Iterator[SwarmRuntime]:
    """A SwarmRuntime on the manager; the app's services are removed after the test."""
    runtime = SwarmRuntime(stop_grace=5)
    try:
        yield runtime
    finally:
        runtime.stop_app(docker_app)
        runtime.close()


def test_after_a_rollout_each_task_runs_the_release_on_the_node_s_hostname(
    swarm_runtime: SwarmRuntime,
    swarm: docker.DockerClient,
    test_images: TestImages,
    docker_app: str,
) -> None:
    target = release(docker_app, test_images.get("http"), 1)
    assert swarm_runtime.roll_out(plan(target), Recorder()) is None

    tasks = swarm_runtime.tasks(docker_app)

    node_id = swarm.info()["Swarm"]["NodeID"]
    hostname = swarm.nodes.get(node_id).attrs["Description"]["Hostname"]
    assert [(t.title, t.node, t.state, t.release_id, t.release_version) for t in tasks] == [
        ("web.1", hostname, "running", target.release_id, 1),
        ("web.2", hostname, "running", target.release_id, 1),
    ]
    assert all(t.port is not None and t.since is not None for t in tasks)
    assert len({t.port for t in tasks}) == 2
