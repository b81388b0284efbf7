"""A single-node Docker Swarm for tests: the machine's engine made a manager for the session.

The ``swarm`` fixture (session; import it in a ``conftest.py`` or test module along with
``docker_client``) makes the engine a single-node swarm advertised on 127.0.0.1 when it
is not in one yet, and at the end leaves it and removes the bridge network joining made.
An engine that is already a manager is used as it is and left as it was; one that is a
worker fails the tests (a swarm the tests did not make is not theirs to change).
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

GATEWAY_BRIDGE = "docker_gwbridge"  # made by the engine when it joins a swarm


@pytest.fixture(scope="session")
def swarm(docker_client: docker.DockerClient) -> Iterator[docker.DockerClient]:
    """The engine as a single-node swarm manager (see the module's docstring)."""
    state = docker_client.info().get("Swarm") or {}
    made = False
    bridges = {n.name for n in docker_client.networks.list(names=[GATEWAY_BRIDGE])}
    if state.get("LocalNodeState") == "inactive":
        docker_client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
        made = True
    elif not state.get("ControlAvailable"):
        pytest.fail(f"the engine is in a swarm but not a manager ({state})", pytrace=False)
    try:
        yield docker_client
    finally:
        if made:
            docker_client.swarm.leave(force=True)
            if GATEWAY_BRIDGE not in bridges:
                for network in docker_client.networks.list(names=[GATEWAY_BRIDGE]):
                    network.remove()
