"""Crash safety particular to Docker: a dead container holding a replica's name, and
reconcile at start. (Re-running an interrupted rollout, and restoring twice or to
nothing, are in the runtime contract suite, ``tests/contract``.)"""

from __future__ import annotations

import dataclasses
import time

import docker
import pytest

from runtime.docker import DockerRuntime
from tests.support.docker import TestImages, remove_app, unique_app

from .support import Recorder, SimulatedCrash, get, plan, release, web

pytestmark = pytest.mark.docker


def test_a_replica_name_held_by_a_dead_container_of_a_crashed_run_is_taken_over(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    target = release(docker_app, test_images.get("http"), 1)
    promotion = plan(target)
    # A crashed run had created web.1 of the target, which then exited: it holds the name.
    exiting = dataclasses.replace(target, images={"web": test_images.get("exiting")})
    stale = runtime.containers.start(
        exiting, target.manifest.service("web"), promotion.promotion_id, 1
    )
    deadline = time.monotonic() + 10
    while runtime.containers.state(stale).running and time.monotonic() < deadline:
        time.sleep(0.05)
    progress = Recorder()

    assert runtime.roll_out(promotion, progress) is None

    assert progress.kinds[0] == "container_removed"
    containers = runtime.containers.of_app(docker_app)
    assert [c.title for c in containers] == ["web.1", "web.2"]
    assert stale.id not in {c.id for c in containers}
    for container in containers:
        assert get(container.port, "/value") == (200, "value of v1")


def test_reconcile_removes_containers_of_other_releases_and_leaves_other_apps_alone(
    runtime: DockerRuntime,
    test_images: TestImages,
    docker_app: str,
    docker_client: docker.DockerClient,
) -> None:
    image = test_images.get("http")
    first = release(docker_app, image, 1, web(1))
    second = release(docker_app, image, 2, web(1))
    assert runtime.roll_out(plan(first), Recorder()) is None
    # A crash mid-promotion left a v2 container beside v1.
    with pytest.raises(SimulatedCrash):
        runtime.roll_out(plan(second, first), Recorder(crash_on="container_healthy"))
    gone = unique_app()
    other = unique_app()
    try:
        assert runtime.roll_out(plan(release(gone, image, 1, web(1))), Recorder()) is None
        assert runtime.roll_out(plan(release(other, image, 1, web(1))), Recorder()) is None

        runtime.reconcile({docker_app: first, gone: None})

        assert [c.release for c in runtime.containers.of_app(docker_app)] == [first.release_id]
        assert runtime.containers.of_app(gone) == []
        assert len(runtime.containers.of_app(other)) == 1
    finally:
        remove_app(docker_client, gone)
        remove_app(docker_client, other)
