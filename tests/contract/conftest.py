"""The contract's fixtures: the Docker ones of ``tests.support.docker`` (the docker and
swarm adapters' scenarios skip outside CI when no engine answers, and fail in CI) and the
contract's test images (``tests.contract.images``). The scenarios live outside ``test_*``
modules, so pytest is told to rewrite their asserts, before anything imports them."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.contract.contract", "tests.contract.harness")

from tests.contract.images import contract_images  # noqa: E402 (imports the harness)
from tests.support.docker import docker_app, docker_client, test_images  # noqa: E402

__all__ = ["contract_images", "docker_app", "docker_client", "test_images"]
