"""DockerRuntime held to the runtime contract, on the machine's real Docker Engine.

What runs is what the engine has for the app: every container, by replica, with its
release's version (and its state, if it is not running), and each running container is
asked over HTTP for the ``VALUE`` it was given, so a container answering for another
release shows. The failing releases print the env they were given as they fail, as many
a crashing app does: that output, and their health check's answer, reach the cause and
the steps, which must still show no env value.

One-off commands run in the ``http`` image (busybox's ``sh``, ``echo``, ``sleep``). Their
containers are not replicas, so ``what_runs`` never lists them; the scenarios below the
contract's look at them by their ``ledger.run`` label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.error import URLError

import pytest

from ledger.domain import CauseKind, StepKind
from ledger.ids import RELEASE, new_id
from ledger.manifest import Manifest
from ledger.runtime import ReleaseSpec, Runtime
from runtime.docker import DockerRuntime
from runtime.docker.labels import APP, RUN, ContainerInfo, run_name
from tests.contract.contract import CommandContract, FailureContract
from tests.contract.harness import (
    RUNS,
    SLOW,
    CommandRun,
    Journal,
    RuntimeAdapter,
    Unit,
    command,
    env_of,
    wait_until,
)
from tests.contract.images import EXITS, FAILING_HEALTH, PATIENT, UNHEALTHY, ContractImages
from tests.integration.runtime.support import QUICK, get, plan, web
from tests.support.runtimes import Recorder


class DockerAdapter(RuntimeAdapter):
    name = "docker"
    failures: ClassVar[Mapping[str, CauseKind]] = {
        EXITS: CauseKind.PROCESS_FAILED,
        UNHEALTHY: CauseKind.HEALTH_CHECK_FAILED,
    }
    crash_on = StepKind.CONTAINER_HEALTHY  # web.1 of the target healthy, nothing stopped
    runtime: DockerRuntime

    def __init__(
        self, runtime: DockerRuntime, app: str, journal: Journal, images: ContractImages
    ) -> None:
        super().__init__(runtime, app, journal)
        self.images = images
        self.restarts: list[DockerRuntime] = []

    @classmethod
    def open(cls, request: pytest.FixtureRequest, journal: Journal) -> DockerAdapter:
        images: ContractImages = request.getfixturevalue("contract_images")
        app: str = request.getfixturevalue("docker_app")
        return cls(DockerRuntime(stop_timeout=5), app, journal, images)

    def release(self, version: int, fate: str = RUNS) -> ReleaseSpec:
        """Two replicas of ``web``, which requires both env keys."""
        health = {SLOW: PATIENT, UNHEALTHY: FAILING_HEALTH}.get(fate, QUICK)
        service = web(2, health, environment={"VALUE": None, "API_TOKEN": None})
        return ReleaseSpec(
            app=self.app,
            release_id=new_id(RELEASE),
            version=version,
            build_id="B" + "D" * 10,
            image=self.images.get(fate),
            env=env_of(version),
            manifest=Manifest((service,)),
        )

    def what_runs(self) -> list[Unit]:
        units = []
        for container in self.runtime.containers.of_app(self.app):
            unit = container.title
            if not container.running:
                unit += f" ({container.state})"
            if container.running and container.port is not None:
                answer = _value(container.port)
                if answer != f"value of v{container.version}":
                    unit += f" answering {answer!r}"
            units.append((unit, int(container.version)))
        return sorted(units)

    def restarted(self) -> Runtime:
        """A new DockerRuntime, as a new ledgerd builds: the engine is the only state."""
        runtime = DockerRuntime(stop_timeout=5)
        self.restarts.append(runtime)
        return runtime

    def under_way(self, progress: Recorder) -> bool:
        """A container of the target has started: cancelling finds it in its health wait."""
        return bool(progress.steps)

    def one_offs(self) -> list[ContainerInfo]:
        """The app's one-off commands' containers, whatever their state."""
        return self.runtime.containers.runs_of_app(self.app)

    def leftover_run(self, release: ReleaseSpec) -> ContainerInfo:
        """A running one-off container as a ledgerd that died during a run leaves it."""
        containers = self.runtime.containers
        service = release.manifest.services[0]
        name = run_name(self.app, "C" + "L" * 10)
        left = containers.create(release, service, name, {RUN: "C" + "L" * 10}, ["sleep", "600"])
        containers.begin(left)
        return left

    def everything(self) -> list[str]:
        """The names of every container labelled with the app (replicas and one-offs)."""
        rows = self.runtime.engine.api.containers(all=True, filters={"label": f"{APP}={self.app}"})
        return sorted(str(row["Names"][0]) for row in rows)

    def close(self) -> None:
        """Remove the one-off containers a failed scenario left (the ``docker_app`` fixture
        removes the replicas), then close the clients."""
        for container in self.one_offs():
            self.runtime.containers.remove(container)
        for runtime in (self.runtime, *self.restarts):
            runtime.close()


def _value(port: int) -> str:
    try:
        return get(port, "/value")[1]
    except (URLError, OSError) as error:
        return f"no answer: {error}"


@pytest.mark.docker
class TestDockerRuntime(FailureContract, CommandContract):
    adapter_type = DockerAdapter

    def test_a_one_off_container_is_a_run_not_a_replica_has_no_port_and_is_removed(
        self, adapter: DockerAdapter
    ) -> None:
        request = command(adapter.release(1), "sh", "-c", 'echo "port=[$PORT]"; sleep 60')
        running = CommandRun(adapter.runtime, request)
        wait_until(lambda: "port=" in running.output.text or running.done.is_set())
        # The engine marks the container running only after its process has started, so
        # the process's first output can arrive before the engine's listing says so.
        wait_until(lambda: [c.running for c in adapter.one_offs()] != [False])

        [container] = adapter.one_offs()
        labels = adapter.runtime.engine.api.inspect_container(container.id)["Config"]["Labels"]
        assert (container.run, container.release, container.running) == (
            request.run_id,
            request.release.release_id,
            True,
        )
        assert "ledger.managed" not in labels
        assert adapter.what_runs() == []
        assert running.output.text == "port=[]\n"
        running.cancel.set()
        running.result(within=adapter.cancel_within)
        assert adapter.one_offs() == []

    def test_reconcile_removes_the_one_off_containers_a_dead_ledgerd_left(
        self, adapter: DockerAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        before = adapter.what_runs()
        adapter.leftover_run(first)

        adapter.restarted().reconcile({adapter.app: first})

        assert adapter.one_offs() == []
        assert adapter.what_runs() == before

    def test_stop_app_removes_every_container_labelled_with_the_app(
        self, adapter: DockerAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        adapter.leftover_run(first)
        running = CommandRun(adapter.runtime, command(first, "sh", "-c", "echo started; sleep 60"))
        wait_until(lambda: "started" in running.output.text or running.done.is_set())

        adapter.runtime.stop_app(adapter.app)

        assert adapter.everything() == []
        assert running.result(within=adapter.cancel_within) == 137
