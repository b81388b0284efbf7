"""A single-node Docker Swarm for tests: the machine's engine made a manager for the session.

The ``swarm`` fixture (session; import it in a ``conftest.py`` or test module along with
``docker_client``) makes the engine a single-node swarm advertised on 127.0.0.1 when it
is not in one yet, and at the end leaves it and removes the bridge network joining made.
An engine that is already a manager is used as it is and left as it was; one that is a
worker fails the tests (a swarm the tests did not make is not theirs to change).

Several test sessions may share the engine (a developer running two files at once, the
workers of one run, the benchmark): each holds a shared lock on a file for as long as it
uses the swarm, and the last one to let go leaves a swarm that a test session made (a
marker file says so), never one it found. Joining and leaving are decided under a second,
exclusive lock held only for that moment, so a session never waits for another one to
end before it can use the swarm.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import docker
import pytest

GATEWAY_BRIDGE = "docker_gwbridge"  # made by the engine when it joins a swarm
LOCK = Path(tempfile.gettempdir()) / "deploy-ledger-tests-swarm.lock"  # shared while used
GATE = Path(tempfile.gettempdir()) / "deploy-ledger-tests-swarm.gate"  # held to join or leave
MADE = Path(tempfile.gettempdir()) / "deploy-ledger-tests-swarm.made"


@pytest.fixture(scope="session")
def swarm(docker_client: docker.DockerClient) -> Iterator[docker.DockerClient]:
    """The engine as a single-node swarm manager (see the module's docstring)."""
    with single_node_swarm(docker_client):
        yield docker_client


@contextlib.contextmanager
def single_node_swarm(client: docker.DockerClient) -> Iterator[None]:
    """The engine a swarm manager while the block runs (the fixture's work; the benchmark
    uses it too)."""
    with LOCK.open("a") as lock:
        with _gate():  # one session at a time decides whether to init
            _join(client)
            fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            with _gate():  # and whether to leave: nobody joins meanwhile
                _leave_if_last(client, lock)


@contextlib.contextmanager
def _gate() -> Iterator[None]:
    """The exclusive lock under which a session joins or leaves (held for that only)."""
    with GATE.open("a") as gate:
        fcntl.flock(gate, fcntl.LOCK_EX)
        yield


def _join(client: docker.DockerClient) -> None:
    state = client.info().get("Swarm") or {}
    if state.get("LocalNodeState") == "inactive":
        bridges = {n.name for n in client.networks.list(names=[GATEWAY_BRIDGE])}
        client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
        MADE.write_text("" if GATEWAY_BRIDGE in bridges else GATEWAY_BRIDGE)
    elif not state.get("ControlAvailable"):
        raise RuntimeError(f"the engine is in a swarm but not a manager ({state})")


def _leave_if_last(client: docker.DockerClient, lock: IO[str]) -> None:
    """Leave the swarm if a test session made it and no other session still uses it
    (our shared lock becomes exclusive only if nobody else holds one)."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another session still uses it: the last one leaves
    if not MADE.exists():
        return
    made_bridge = MADE.read_text() == GATEWAY_BRIDGE
    client.swarm.leave(force=True)
    MADE.unlink()
    if made_bridge:
        for network in client.networks.list(names=[GATEWAY_BRIDGE]):
            network.remove()
