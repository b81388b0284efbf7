"""``ledgerctl build`` and ``deploy`` from a directory, against ledgerd on the real Docker Engine.

The tests are skipped outside CI when no engine answers (tests/support/docker.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import docker
import pytest

from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.infra.settings import Settings
from tests.integration.cli.runner import Ledgerctl
from tests.support.docker import docker_app, docker_client
from tests.support.ledgerd import InProcessLedgerd

__all__ = ["docker_app", "docker_client"]


@pytest.fixture
def docker_ledgerd(
    ledgerd_settings: Settings, docker_client: docker.DockerClient
) -> Iterator[InProcessLedgerd]:
    """A ledgerd with ``LEDGER_RUNTIME=docker`` on the machine's engine."""
    settings = dataclasses.replace(ledgerd_settings, runtime="docker")
    with InProcessLedgerd(settings) as server:
        yield server


@pytest.fixture
def ledgerctl(docker_ledgerd: InProcessLedgerd) -> Ledgerctl:
    return Ledgerctl(docker_ledgerd.address, docker_ledgerd.token)


@pytest.fixture
def client(docker_ledgerd: InProcessLedgerd) -> Iterator[LedgerStub]:
    with docker_ledgerd.channel() as channel:
        yield LedgerStub(channel)
