"""The swarm runtime with a registry (``LEDGER_REGISTRY``): builds push their images and
releases name them by digest, so every node of a cluster can pull them.

On the machine's engine made a single-node swarm, with a registry process of the test's
own on 127.0.0.1 (the engine treats loopback registries as insecure, so plain HTTP)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from ledger.ids import BUILD, new_id
from ledger.manifest import Manifest
from ledger.runtime import BuildFailed, BuildRequest
from runtime.swarm import SwarmRuntime
from tests.integration.runtime.support import get, release, web
from tests.integration.runtime.test_builds import Log
from tests.support.docker import HTTP_APP, write_context
from tests.support.registry import LocalRegistry, free_port, registry
from tests.support.runtimes import Recorder, plan
from tests.support.swarm import swarm

__all__ = ["registry", "swarm"]

pytestmark = pytest.mark.docker

MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def runtime(swarm: docker.DockerClient, registry: LocalRegistry) -> Iterator[SwarmRuntime]:
    """A swarm runtime pushing to the test's registry."""
    swarm_runtime = SwarmRuntime(stop_grace=5, registry=registry.address)
    yield swarm_runtime
    swarm_runtime.close()


def build(runtime: SwarmRuntime, app: str, tmp_path: Path, log: Log) -> str:
    """Build ``HTTP_APP`` as service ``web`` of ``app``: the image the release records."""
    request = BuildRequest(
        app=app,
        build_id=new_id(BUILD),
        source=write_context(tmp_path / "src", HTTP_APP),
        manifest=Manifest((web(1),)),
    )
    return runtime.build(request, log).ids["web"]


def in_registry(address: str, reference: str) -> bool:
    """Whether the registry serves the manifest ``reference`` names (``repo@digest``)."""
    repository, _, digest = reference.removeprefix(f"{address}/").partition("@")
    url = f"http://{address}/v2/{repository}/manifests/{digest}"
    request = urllib.request.Request(url, headers={"Accept": MANIFEST_TYPES}, method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as answer:
        return bool(answer.status == 200)


def test_a_build_pushes_its_image_and_the_release_names_it_by_digest(
    runtime, registry, docker_app, tmp_path
):
    log = Log()

    image = build(runtime, docker_app, tmp_path, log)

    assert image.startswith(f"{registry.address}/{docker_app}/web@sha256:")
    assert in_registry(registry.address, image)
    assert f"==> pushing web to {registry.address}/{docker_app}/web:" in log.text
    assert f"pushed {image}" in log.text


def test_a_release_built_with_a_registry_runs_its_image_by_digest(
    runtime, swarm, docker_app, tmp_path
):
    image = build(runtime, docker_app, tmp_path, Log())
    target = release(docker_app, image, 1, web(1), images={"web": image})

    assert runtime.roll_out(plan(target), Recorder()) is None

    spec = swarm.api.inspect_service(f"{docker_app}-web")["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == image
    [task] = [t for s in runtime.services.of_app(docker_app) for t in runtime.services.tasks(s)]
    assert get(task.port, "/value") == (200, "value of v1")


def test_a_build_whose_push_fails_is_a_failed_build_that_says_why(swarm, docker_app, tmp_path):
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    runtime = SwarmRuntime(registry=nowhere)
    log = Log()

    with pytest.raises(BuildFailed, match=f"pushing to the registry {nowhere} failed"):
        build(runtime, docker_app, tmp_path, log)

    assert "push failed:" in log.text
    runtime.close()


def test_an_image_recorded_before_the_registry_is_pushed_when_a_rollout_needs_it(
    runtime, registry, test_images, swarm
):
    local_id = test_images.get("http")  # what a release of the single-engine runtime records

    reference = runtime.registry.reference(local_id)

    assert reference.startswith(f"{registry.address}/ledger/imported@sha256:")
    assert in_registry(registry.address, reference)
    for image in swarm.images.list(name=f"{registry.address}/ledger/imported"):
        for tag in image.tags:  # the tag the push left on the engine: ours only
            if tag.startswith(f"{registry.address}/"):
                swarm.images.remove(tag)
