"""Crash safety: a rollout re-run by a new process, reconcile at start, restore to nothing."""

from __future__ import annotations

import dataclasses
import time

import docker
import pytest

from runtime.docker import DockerRuntime
from tests.support.docker import TestImages, remove_app, unique_app

from .support import Recorder, SimulatedCrash, get, plan, release, web

pytestmark = pytest.mark.docker


def test_running_an_interrupted_rollout_again_adopts_what_runs_and_leaves_no_orphans(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    image = test_images.get("http")
    first = release(docker_app, image, 1)
    assert runtime.roll_out(plan(first), Recorder()) is None
    second = release(docker_app, image, 2, web(3))
    promotion = plan(second, first)
    # The first process dies once web.1 of v2 is healthy, before stopping anything of v1.
    with pytest.raises(SimulatedCrash):
        runtime.roll_out(promotion, Recorder(crash_on="container_healthy"))
    # ... and it had also created web.2, which exited: a stale container holding the name.
    exiting = dataclasses.replace(second, images={"web": test_images.get("exiting")})
    stale = runtime.containers.start(
        exiting, second.manifest.service("web"), promotion.promotion_id, 2
    )
    deadline = time.monotonic() + 10
    while runtime.containers.state(stale).running and time.monotonic() < deadline:
        time.sleep(0.05)

    restarted = DockerRuntime(stop_timeout=5)  # what a new ledgerd would build
    progress = Recorder()
    try:
        assert restarted.roll_out(promotion, progress) is None
    finally:
        restarted.close()

    assert progress.kinds[0] == "container_removed"  # the dead web.2
    assert progress.kinds.count("container_adopted") == 1
    assert progress.kinds.count("container_started") == 2
    assert progress.kinds.count("container_stopped") == 2
    containers = runtime.containers.of_app(docker_app)
    assert [c.title for c in containers] == ["web.1", "web.2", "web.3"]
    assert all(c.running and c.release == second.release_id for c in containers)
    for container in containers:
        assert get(container.port, "/value") == (200, "value of v2")


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


def test_restore_with_no_previous_release_removes_every_container_of_the_app(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    target = release(docker_app, test_images.get("http"), 1)
    promotion = plan(target)
    assert runtime.roll_out(promotion, Recorder()) is None
    progress = Recorder()

    assert runtime.restore(promotion, progress) is None

    assert runtime.containers.of_app(docker_app) == []
    assert progress.kinds == ["container_stopped", "container_stopped"]
