"""SwarmRuntime held to the runtime contract, on a single-node swarm of the machine's engine.

A session fixture makes the engine a single-node swarm (``advertise_addr=127.0.0.1``)
when it is not one yet, and leaves the swarm at the end; an engine that is already a
manager is used as it is (and left as it was). What runs is what the manager has for
the app: every task desired running or still up, by replica (``web.1``), with its
release's version, each running one asked over HTTP for the ``VALUE`` it was given
(so a task answering for another release shows), plus any container of the app on the
engine that no listed task accounts for (something left behind).

Not held to ``CommandContract``: the swarm runtime does not run one-off commands yet,
it keeps the port's refusal (checked below).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar
from urllib.error import URLError

import docker
import pytest

from ledger.domain import CauseKind, StepKind
from ledger.errors import FailedPrecondition
from ledger.ids import RELEASE, new_id
from ledger.manifest import Manifest
from ledger.runtime import ReleaseSpec, Runtime
from runtime.docker.labels import APP
from runtime.swarm import SwarmRuntime
from runtime.swarm.services import STARTED
from tests.contract.contract import FailureContract
from tests.contract.harness import RUNS, SLOW, Journal, RuntimeAdapter, Unit, command, env_of
from tests.contract.images import EXITS, FAILING_HEALTH, PATIENT, UNHEALTHY, ContractImages
from tests.integration.runtime.support import QUICK, get, web
from tests.support.runtimes import Collected, Recorder

TASK_ID = "com.docker.swarm.task.id"
GATEWAY_BRIDGE = "docker_gwbridge"  # made by the engine when it joins a swarm


@pytest.fixture(scope="session")
def swarm(docker_client: docker.DockerClient) -> Iterator[docker.DockerClient]:
    """The engine as a single-node swarm manager; if this fixture made the swarm, it
    leaves it at the end and removes the bridge network that joining made."""
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


class SwarmAdapter(RuntimeAdapter):
    name = "swarm"
    failures: ClassVar[Mapping[str, CauseKind]] = {
        EXITS: CauseKind.PROCESS_FAILED,
        UNHEALTHY: CauseKind.HEALTH_CHECK_FAILED,
    }
    crash_on = StepKind.CONTAINER_HEALTHY  # web.1 of the target healthy, v1's still up
    runtime: SwarmRuntime

    def __init__(
        self,
        runtime: SwarmRuntime,
        app: str,
        journal: Journal,
        images: ContractImages,
        client: docker.DockerClient,
    ) -> None:
        super().__init__(runtime, app, journal)
        self.images = images
        self.client = client
        self.restarts: list[SwarmRuntime] = []

    @classmethod
    def open(cls, request: pytest.FixtureRequest, journal: Journal) -> SwarmAdapter:
        client: docker.DockerClient = request.getfixturevalue("swarm")
        images: ContractImages = request.getfixturevalue("contract_images")
        app: str = request.getfixturevalue("docker_app")
        return cls(SwarmRuntime(stop_grace=5), app, journal, images, client)

    def release(self, version: int, fate: str = RUNS) -> ReleaseSpec:
        """Two replicas of ``web``, which requires both env keys."""
        health = {SLOW: PATIENT, UNHEALTHY: FAILING_HEALTH}.get(fate, QUICK)
        service = web(2, health, environment={"VALUE": None, "API_TOKEN": None})
        return ReleaseSpec(
            app=self.app,
            release_id=new_id(RELEASE),
            version=version,
            build_id="B" + "S" * 10,
            image=self.images.get(fate),
            env=env_of(version),
            manifest=Manifest((service,)),
        )

    def what_runs(self) -> list[Unit]:
        units: list[Unit] = []
        listed: set[str] = set()
        services = self.runtime.services
        for service in services.of_app(self.app):
            for task in services.tasks(service):
                listed.add(task.id)
                if task.desired != "running" and task.state not in STARTED:
                    continue
                unit = task.title
                if task.state != "running":
                    unit += f" ({task.state})"
                elif task.port is not None:
                    answer = _value(task.port)
                    if answer != f"value of v{task.version}":
                        unit += f" answering {answer!r}"
                units.append((unit, int(task.version or 0)))
        for container in self.client.containers.list(filters={"label": f"{APP}={self.app}"}):
            labels = container.labels
            if labels.get(TASK_ID) not in listed:
                units.append((f"leftover {container.name}", int(labels.get("ledger.version", 0))))
        return sorted(units)

    def restarted(self) -> Runtime:
        """A new SwarmRuntime, as a new ledgerd builds: the manager is the only state."""
        runtime = SwarmRuntime(stop_grace=5)
        self.restarts.append(runtime)
        return runtime

    def under_way(self, progress: Recorder) -> bool:
        """A task of the target has started: cancelling finds it waiting to be healthy."""
        return bool(progress.steps)

    def close(self) -> None:
        """Remove the app's services (the ``docker_app`` fixture removes what containers
        are left), then close the clients."""
        try:
            self.runtime.stop_app(self.app)
        finally:
            for runtime in (self.runtime, *self.restarts):
                runtime.close()


def _value(port: int) -> str:
    try:
        return get(port, "/value")[1]
    except (URLError, OSError) as error:
        return f"no answer: {error}"


@pytest.mark.docker
class TestSwarmRuntime(FailureContract):
    adapter_type = SwarmAdapter

    def test_a_one_off_command_is_refused_for_now(self, adapter: SwarmAdapter) -> None:
        """One-off commands are not built for the swarm runtime yet: the port's refusal."""
        output = Collected()

        with pytest.raises(FailedPrecondition, match="runs no containers"):
            adapter.runtime.run_command(command(adapter.release(1), "echo"), output, lambda: False)

        assert output.data == b""
