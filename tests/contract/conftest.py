"""The contract's fixtures: the Docker ones of ``tests.support.docker`` (the docker
adapter's scenarios skip outside CI when no engine answers, and fail in CI). The
scenarios live outside ``test_*`` modules, so pytest is told to rewrite their asserts."""

from __future__ import annotations

import pytest

from tests.support.docker import docker_app, docker_client, test_images

pytest.register_assert_rewrite("tests.contract.contract", "tests.contract.harness")

__all__ = ["docker_app", "docker_client", "test_images"]
