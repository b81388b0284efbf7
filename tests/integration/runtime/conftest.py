"""DockerRuntime against the machine's real Docker Engine (skipped outside CI without one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.docker import DockerRuntime
from tests.support.docker import docker_app, docker_client, test_images

__all__ = ["docker_app", "docker_client", "test_images"]


@pytest.fixture
def runtime(docker_client: object) -> Iterator[DockerRuntime]:
    """One DockerRuntime on the default socket, with quick stops, closed after the test."""
    docker_runtime = DockerRuntime(stop_timeout=5)
    yield docker_runtime
    docker_runtime.close()
