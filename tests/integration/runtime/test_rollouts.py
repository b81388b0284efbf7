"""Promotions on a real Docker Engine: what is particular to Docker (one replacement at a
time, ports, health checks and their causes, deadlines, services without a port).

The promises every runtime keeps (roll out, fail, restore, cancel, re-run after a crash)
are checked for Docker by the runtime contract suite, ``tests/contract``.
"""

from __future__ import annotations

import threading

import docker
import pytest

from ledger.domain import Cause
from ledger.manifest import Health, Service
from runtime.docker import DockerRuntime
from runtime.docker.labels import ContainerInfo
from tests.support.docker import TestImages, unique_app

from .support import QUICK, Recorder, get, plan, release, web

pytestmark = pytest.mark.docker


def running(runtime: DockerRuntime, app: str) -> list[ContainerInfo]:
    return [c for c in runtime.containers.of_app(app) if c.running]


def test_a_rollout_replaces_the_previous_release_one_container_at_a_time(
    runtime: DockerRuntime,
    test_images: TestImages,
    docker_app: str,
    docker_client: docker.DockerClient,
) -> None:
    image = test_images.get("http")
    first = release(docker_app, image, 1)
    assert runtime.roll_out(plan(first), Recorder()) is None
    old = {c.name for c in running(runtime, docker_app)}
    second = release(docker_app, image, 2, env={"VALUE": "the new value"})
    progress = Recorder()

    assert runtime.roll_out(plan(second, first), progress) is None

    kinds = progress.kinds
    assert sorted(kinds) == sorted(
        ["container_started", "container_healthy", "container_stopped"] * 2
    )
    for n, kind in enumerate(kinds):  # an old one stops only once a new one is healthy
        if kind == "container_stopped":
            assert kinds[:n].count("container_healthy") >= kinds[: n + 1].count("container_stopped")
    assert all("(v1" in m for m in progress.messages("container_stopped"))
    assert progress.messages("container_started")[0].startswith("web.1 started (v2, port ")
    containers = running(runtime, docker_app)
    assert {c.release for c in containers} == {second.release_id}
    assert len({c.port for c in containers}) == 2
    for container in containers:
        assert get(container.port, "/value") == (200, "the new value")
    everything = docker_client.containers.list(
        all=True, filters={"label": "ledger.app=" + docker_app}
    )
    assert not old & {c.name for c in everything}
    assert not any("the new value" in message for _, message in progress.steps)


def test_a_container_exiting_at_start_fails_with_its_exit_code_and_last_output(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    broken = release(docker_app, test_images.get("exiting"), 1)
    progress = Recorder()

    cause = runtime.roll_out(plan(broken), progress)

    assert cause is not None
    assert (cause.kind, cause.service, cause.exit_code) == ("process_failed", "web", 3)
    assert cause.container.endswith(f"-web-{broken.release_id}-1")
    assert "failing on purpose" in cause.output
    assert progress.kinds == ["container_started", "container_failed"]


def test_a_health_check_answering_500_fails_with_the_last_response(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    health = Health(path="/cgi-bin/health", grace=1.5, interval=0.2, timeout=1.0)
    target = release(docker_app, test_images.get("failing-health"), 1, web(1, health))
    progress = Recorder()

    cause = runtime.roll_out(plan(target), progress)

    assert cause is not None
    assert cause.kind == "health_check_failed"
    assert cause.last_response.startswith("HTTP 500")
    assert "database unreachable" in cause.last_response
    assert cause.container.startswith(f"ledger-{docker_app}-web-")
    assert progress.kinds == ["container_started", "container_failed"]


def test_a_rollout_still_unhealthy_at_the_deadline_fails_as_deadline_exceeded(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    patient = Health(path="/health", grace=30.0, interval=0.2, timeout=1.0)
    target = release(docker_app, test_images.get("never-healthy"), 1, web(1, patient))

    cause = runtime.roll_out(plan(target, deadline=1), Recorder())

    assert cause is not None
    assert cause.kind == "deadline_exceeded"
    assert "deadline (1 s) passed while web.1 (v1) was not healthy yet" in cause.message
    assert cause.last_response.startswith("HTTP 404")
    assert cause.service == "web"
    assert "listening, never healthy" in cause.output


def test_missing_required_env_keys_fail_at_once_naming_the_keys_not_values(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    service = web(1, environment={"VALUE": None, "API_TOKEN": None, "MODE": "fast"})
    target = release(docker_app, test_images.get("http"), 1, service, env={"VALUE": "s3cret"})
    progress = Recorder()

    cause = runtime.roll_out(plan(target), progress)

    assert cause is not None
    assert (cause.kind, cause.service) == ("process_failed", "web")
    assert "API_TOKEN" in cause.message and "s3cret" not in cause.message
    assert progress.steps == []
    assert runtime.containers.of_app(docker_app) == []


def test_a_service_without_a_port_is_healthy_when_it_still_runs_after_its_grace(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    worker = Service(name="worker", health=Health(grace=0.5), scale=1)
    target = release(
        docker_app, test_images.get("http"), 1, web(1), worker,
        images={"worker": test_images.get("worker")},
    )  # fmt: skip

    assert runtime.roll_out(plan(target), Recorder()) is None

    services = {c.service: c for c in running(runtime, docker_app)}
    assert set(services) == {"web", "worker"}
    assert services["worker"].port is None


def test_services_dropped_from_the_manifest_are_removed_when_the_rollout_succeeds(
    runtime: DockerRuntime, test_images: TestImages, docker_app: str
) -> None:
    worker = Service(name="worker", health=Health(grace=0.2), scale=1)
    first = release(
        docker_app, test_images.get("http"), 1, web(1), worker,
        images={"worker": test_images.get("worker")},
    )  # fmt: skip
    assert runtime.roll_out(plan(first), Recorder()) is None
    second = release(docker_app, test_images.get("http"), 2, web(1))
    progress = Recorder()

    assert runtime.roll_out(plan(second, first), progress) is None

    assert [c.title for c in runtime.containers.of_app(docker_app)] == ["web.1"]
    assert any(m.startswith("worker.1 stopped (v1") for m in progress.messages("container_stopped"))


def test_rollouts_of_two_apps_at_once_on_one_runtime_both_succeed_on_distinct_ports(
    runtime: DockerRuntime, test_images: TestImages, docker_client: docker.DockerClient
) -> None:
    from tests.support.docker import remove_app

    apps = [unique_app(), unique_app()]
    try:
        targets = [release(app, test_images.get("http"), 1, web(3, QUICK)) for app in apps]
        causes: list[Cause | None] = []
        threads = [
            threading.Thread(
                target=lambda t=t: causes.append(runtime.roll_out(plan(t), Recorder()))
            )
            for t in targets
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert causes == [None, None]
        ports = [c.port for app in apps for c in running(runtime, app)]
        assert len(ports) == 6 and len(set(ports)) == 6
    finally:
        for app in apps:
            remove_app(docker_client, app)


def test_an_image_missing_from_the_engine_fails_the_rollout_as_a_process_that_cannot_start(
    runtime: DockerRuntime, docker_app: str
) -> None:
    target = release(docker_app, f"{docker_app}-missing:1", 1, web(1))
    progress = Recorder()

    cause = runtime.roll_out(plan(target), progress)

    assert cause is not None
    assert cause.kind == "process_failed"
    assert "No such image" in cause.message
    assert progress.kinds == ["container_failed"]
