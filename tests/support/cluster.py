"""A real multi-node Docker Swarm made by the tests on this one machine.

Each node is a ``dockerd`` of its own (``tests.support.dockerd``) in a network namespace
of its own, all joined by a bridge (``tests.support.netns``); node 1 is the manager,
the others join it as workers; a ``docker-registry`` on the bridge
(``tests.support.registry``) is where images reach the nodes. Nothing of the machine's
own engine is used or changed, and all traffic stays on the bridge and in the
namespaces. The nodes' hostnames, and so their names in the swarm, are ``node1``,
``node2``…; a task's node is ``Services.node_name(task.node_id)``.

One cluster at a time per machine: a lock file serialises test runs (a second run
waits for the first). Holding it, a run first sweeps whatever a crashed run left (by
name: ``dlt-`` namespaces, links and cgroups, everything under ``ROOT``), and at the end
sweeps its own: leave the swarm, stop each engine (SIGTERM, then SIGKILL), kill what is
left in the namespaces and cgroups, unmount, delete the network, stop the registry,
remove the files (the logs copied out first). The module-scoped fixture ``cluster``
makes three nodes; it skips with the reason when this machine cannot (not root, a tool
missing), except in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.support.docker import skip_or_fail
from tests.support.dockerd import READY_WITHIN, Dockerd
from tests.support.netns import Network, pick_subnet
from tests.support.registry import LocalRegistry, missing_registry
from tests.support.sweep import cgroup_dirs, end, processes_in_cgroups, sweep

log = logging.getLogger(__name__)

ROOT = Path(tempfile.gettempdir()) / "dlt-cluster"  # short: socket paths are limited
LOCK = Path(tempfile.gettempdir()) / "dlt-cluster.lock"
LOCK_WITHIN = 240.0  # seconds to wait for another run's cluster to go
SWARM_PORT = 2377
STOP_WITHIN = 15.0  # seconds the engines get to exit on SIGTERM before SIGKILL
HEARTBEAT = 1.0  # seconds between a worker's heartbeats: a dead node is seen in seconds
TOOLS = ("ip", "nsenter", "unshare", "dockerd", "hostname")


@dataclass
class Node:
    """One node: its hostname (its name in the swarm), address, engine and a client."""

    name: str
    address: str
    engine: Dockerd
    client: docker.DockerClient
    id: str = ""  # the swarm's node id, once it has joined

    @property
    def url(self) -> str:
        """``unix://…``, the engine's socket."""
        return self.engine.url


class Cluster:
    """``count`` nodes (node 1 the manager), a bridge and a registry; see the module."""

    def __init__(self, count: int, root: Path = ROOT, logs: Path | None = None) -> None:
        """``logs``: where the engines' and the registry's logs are copied at the end
        (``root`` itself is removed)."""
        self.root = root
        self.logs = logs
        self.network = Network(pick_subnet(), count)
        self.registry = LocalRegistry(root / "registry", host=self.network.gateway)
        self.engines: list[Dockerd] = []
        self.nodes: list[Node] = []
        self.made_in = 0.0  # seconds it took to make, and to tear down
        self.closed_in = 0.0

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    @property
    def manager_url(self) -> str:
        return self.manager.url

    def node(self, name: str) -> Node:
        """The node named ``name`` (``node2``)."""
        return next(node for node in self.nodes if node.name == name)

    @contextlib.contextmanager
    def drained(self, name: str) -> Iterator[None]:
        """Node ``name`` takes no task while the block runs (Swarm moves its tasks away),
        then is active again, empty: the next task Swarm places goes there first."""
        self._availability(name, "drain")
        try:
            yield
        finally:
            self._availability(name, "active")

    def _availability(self, name: str, availability: str) -> None:
        row = self.manager.client.nodes.get(self.node(name).id)
        row.update({**row.attrs["Spec"], "Availability": availability})

    def crash(self, name: str) -> None:
        """Node ``name`` dies at once, as if powered off: every process of it (engine,
        containerd, shims, its tasks) is killed. The manager sees it down within a few
        heartbeats; its data stays for ``revive``."""
        namespace = self.network.namespaces[self.nodes.index(self.node(name))]
        pids = set(namespace.pids()) | processes_in_cgroups(cgroup_dirs(namespace.name))
        left = end(pids)
        self.node(name).engine.reap()
        if left:
            raise RuntimeError(f"processes of {name} survived SIGKILL: {left}")

    def revive(self, name: str, within: float = READY_WITHIN) -> None:
        """Start node ``name``'s engine again on its data: it rejoins the swarm as the
        node it was. Returns once the manager says it is ready."""
        node = self.node(name)
        deadline = time.monotonic() + within
        node.engine.start()
        node.engine.wait_ready(deadline)
        self._wait_state(name, "ready", deadline)

    def state(self, name: str) -> str:
        """Node ``name``'s state as the manager sees it: ready, down, unknown…"""
        row = self.manager.client.nodes.get(self.node(name).id)
        return str(row.attrs["Status"]["State"])

    def start(self) -> Cluster:
        """Make the network, the registry, the engines and the swarm (``close`` undoes
        whatever part of it was made, also after a failure here)."""
        began = time.monotonic()
        self.network.create()
        self.registry.start()
        for i, namespace in enumerate(self.network.namespaces, start=1):
            engine = Dockerd(f"node{i}", namespace.path, self.root / f"n{i}", self.registry.address)
            self.engines.append(engine)
            engine.start()  # all at once: each takes about half a second to answer
        deadline = time.monotonic() + READY_WITHIN
        for engine, namespace in zip(self.engines, self.network.namespaces, strict=True):
            engine.wait_ready(deadline)
            self.nodes.append(Node(engine.name, namespace.address, engine, engine.client()))
        self._swarm()
        self.made_in = time.monotonic() - began
        log.info("cluster of %d nodes made in %.1f s", len(self.nodes), self.made_in)
        return self

    def _swarm(self) -> None:
        manager = self.manager
        manager.client.swarm.init(
            advertise_addr=manager.address,
            listen_addr=f"{manager.address}:{SWARM_PORT}",
            dispatcher_heartbeat_period=round(HEARTBEAT * 1e9),
        )
        token = manager.client.swarm.attrs["JoinTokens"]["Worker"]
        for worker in self.nodes[1:]:
            worker.client.swarm.join(
                remote_addrs=[f"{manager.address}:{SWARM_PORT}"],
                join_token=token,
                advertise_addr=worker.address,
                listen_addr=f"{worker.address}:{SWARM_PORT}",
            )
        ids: dict[str, str] = {}
        for row in manager.client.nodes.list():
            ids[row.attrs["Description"]["Hostname"]] = str(row.id)
        for node in self.nodes:
            node.id = ids[node.name]
        deadline = time.monotonic() + READY_WITHIN
        for node in self.nodes:
            self._wait_state(node.name, "ready", deadline)

    def _wait_state(self, name: str, state: str, deadline: float) -> None:
        while self.state(name) != state:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} is {self.state(name)}, not {state}, in time")
            time.sleep(0.1)

    def close(self) -> None:
        """Tear everything down (see the module's docstring); ``RuntimeError`` naming
        what could not be removed."""
        began = time.monotonic()
        try:
            self._stop()
        finally:
            self._keep_logs()
            problems = sweep(self.root)
        self.closed_in = time.monotonic() - began
        log.info("cluster torn down in %.1f s", self.closed_in)
        if problems:
            raise RuntimeError("the test cluster left: " + "; ".join(problems))

    def _keep_logs(self) -> None:
        if self.logs is None:
            return
        self.logs.mkdir(parents=True, exist_ok=True)
        named = {engine.name: engine.log for engine in self.engines}
        for name, path in {**named, "registry": self.registry.log}.items():
            if path.exists():
                shutil.copyfile(path, self.logs / f"{name}.log")

    def _stop(self) -> None:
        """Leave the swarm, stop the engines together, stop the registry."""
        self._leave()
        for node in self.nodes:
            node.client.close()
        for engine in self.engines:
            engine.terminate()
        deadline = time.monotonic() + STOP_WITHIN
        stopped = [engine.wait_stopped(deadline) for engine in self.engines]
        if not all(stopped):
            log.warning("dockerd killed after %g s: %s", STOP_WITHIN, stopped)
        self.registry.stop()

    def _leave(self) -> None:
        """The workers leave the swarm together, then the manager: engines that left
        stop faster and cleanly. An engine that is down is skipped."""

        def leave(node: Node) -> None:
            with contextlib.suppress(docker.errors.DockerException, OSError):
                node.client.swarm.leave(force=node is self.manager)

        with ThreadPoolExecutor(max_workers=len(self.nodes) or 1) as pool:
            list(pool.map(leave, self.nodes[1:]))
        if self.nodes:
            leave(self.manager)


@contextlib.contextmanager
def exclusive(within: float = LOCK_WITHIN) -> Iterator[None]:
    """Hold the machine's test-cluster lock (released when the process dies, too)."""
    with LOCK.open("a") as handle:
        deadline = time.monotonic() + within
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"another test run held {LOCK} for {within:g} s (its cluster)"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def missing_prerequisites() -> str:
    """Why this machine cannot make a test cluster ("" if it can)."""
    if os.geteuid() != 0:
        return "a test cluster needs root (network namespaces, dockerd)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"a test cluster needs {', '.join(missing)}: run scripts/install-system-deps.sh"
    return missing_registry()


@contextlib.contextmanager
def running_cluster(count: int, logs: Path | None = None) -> Iterator[Cluster]:
    """A cluster of ``count`` nodes, made after sweeping a crashed run's leftovers and
    torn down at the end (its logs copied to ``logs``), holding the lock all along."""
    with exclusive():
        left = sweep(ROOT)
        if left:
            raise RuntimeError("a crashed test cluster could not be swept: " + "; ".join(left))
        made = Cluster(count, logs=logs)
        try:
            yield made.start()
        finally:
            made.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three nodes: ``node1`` (manager), ``node2``, ``node3`` (skipped without root or a
    tool outside CI, failed in CI); their logs are kept in pytest's temp dir."""
    reason = missing_prerequisites()
    if reason:
        skip_or_fail(reason)
    with running_cluster(3, logs=tmp_path_factory.mktemp("cluster-logs")) as made:
        yield made
