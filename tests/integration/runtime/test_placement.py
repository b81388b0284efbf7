"""Where the app's replicas run, as ``DockerRuntime.tasks`` reads them from the real engine:
each replica on the engine's host with its release and port, a replica that died with
its exit code, and an engine that does not answer as Unavailable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import docker
import pytest

from ledger.errors import Unavailable
from runtime.docker import DockerRuntime
from tests.support.docker import TestImages

from .support import Recorder, plan, release

pytestmark = pytest.mark.docker


def test_tasks_show_each_replica_on_the_engine_s_host_with_its_release_and_port(
    runtime: DockerRuntime,
    test_images: TestImages,
    docker_app: str,
    docker_client: docker.DockerClient,
) -> None:
    target = release(docker_app, test_images.get("http"), 1)
    assert runtime.roll_out(plan(target), Recorder()) is None

    tasks = runtime.tasks(docker_app)

    host = docker_client.info()["Name"]
    assert [(t.title, t.node, t.state, t.release_id, t.release_version) for t in tasks] == [
        ("web.1", host, "running", target.release_id, 1),
        ("web.2", host, "running", target.release_id, 1),
    ]
    ports = {c.index: c.port for c in runtime.containers.of_app(docker_app)}
    assert [t.port for t in tasks] == [ports[1], ports[2]]
    now = datetime.now(UTC)
    assert all(t.since is not None and now - t.since < timedelta(minutes=1) for t in tasks)
    assert all(t.message == "" for t in tasks)


def test_a_replica_that_died_is_listed_as_exited_with_its_exit_code(
    runtime: DockerRuntime,
    test_images: TestImages,
    docker_app: str,
    docker_client: docker.DockerClient,
) -> None:
    target = release(docker_app, test_images.get("http"), 1)
    assert runtime.roll_out(plan(target), Recorder()) is None
    victim = next(c for c in runtime.containers.of_app(docker_app) if c.index == 2)
    docker_client.api.kill(victim.id)
    docker_client.api.wait(victim.id, timeout=30)

    first, second = runtime.tasks(docker_app)

    assert (first.title, first.state, first.message) == ("web.1", "running", "")
    assert (second.title, second.state, second.message) == ("web.2", "exited", "exit code 137")
    assert second.since is not None and second.release_id == target.release_id


def test_an_app_with_nothing_running_has_no_tasks(runtime: DockerRuntime, docker_app: str) -> None:
    assert runtime.tasks(docker_app) == []


def test_an_engine_that_does_not_answer_makes_the_tasks_unavailable(docker_app: str) -> None:
    nowhere = DockerRuntime(base_url="unix:///nonexistent/docker.sock")

    with pytest.raises(Unavailable, match="does not answer"):
        nowhere.tasks(docker_app)
