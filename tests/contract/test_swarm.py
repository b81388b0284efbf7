"""SwarmRuntime held to the runtime contract, on a single-node swarm of the machine's engine.

The session fixture ``swarm`` (``tests.support.swarm``) makes the engine a single-node
swarm (advertised on 127.0.0.1) when it is not one yet, and leaves the swarm at the end;
an engine that is already a manager is used as it is (and left as it was).

What runs is what the manager has for the app: every task desired running or still up,
by replica (``web.1``), with its release's version, each running one asked over HTTP
for the ``VALUE`` it was given (so a task answering for another release shows), plus
any container of the app on the engine that no listed task accounts for (something
left behind).

Not held to ``CommandContract``: the swarm runtime does not run one-off commands yet,
it keeps the port's refusal (checked below).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar
from urllib.error import URLError

import docker
import pytest

from ledger.domain import CauseKind, StepKind
from ledger.errors import FailedPrecondition
from ledger.ids import RELEASE, new_id
from ledger.manifest import Health, Manifest, Service
from ledger.runtime import ReleaseSpec, Runtime
from runtime.docker.labels import APP
from runtime.swarm import SwarmRuntime
from runtime.swarm.records import STARTED
from runtime.swarm.spec import monitor_seconds, seconds
from tests.contract.contract import FailureContract
from tests.contract.harness import (
    RUNS,
    SLOW,
    Journal,
    RuntimeAdapter,
    Unit,
    command,
    env_of,
    versions,
    wait_until,
)
from tests.contract.images import EXITS, FAILING_HEALTH, PATIENT, UNHEALTHY, ContractImages
from tests.integration.runtime.support import get, web
from tests.support.runtimes import Collected, Recorder, plan
from tests.support.swarm import swarm

__all__ = ["swarm"]

TASK_ID = "com.docker.swarm.task.id"
# Swarm waits a monitor window (grace + 3 checks + a margin) after each task and before it
# says "completed": a short grace and timeout keep each rollout to a few seconds.
QUICK = Health(path="/health", grace=1.0, interval=0.2, timeout=0.5)


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

    def tasks_up(self) -> dict[str, tuple[str, int | None]]:
        """The app's running tasks: their ids, by replica, with their ports."""
        return {
            task.id: (task.title, task.port)
            for service in self.runtime.services.of_app(self.app)
            for task in self.runtime.services.tasks(service)
            if task.state == "running" and task.desired == "running"
        }

    def restarted(self) -> Runtime:
        """A new SwarmRuntime, as a new ledgerd builds: the manager is the only state."""
        runtime = SwarmRuntime(stop_grace=5)
        self.restarts.append(runtime)
        return runtime

    def under_way(self, progress: Recorder) -> bool:
        """A task of the target has started: cancelling finds it waiting to be healthy."""
        return bool(progress.steps)

    def close(self) -> None:
        """Remove the app's services without waiting for Swarm to stop their tasks (it
        takes it about 3 s; the ``docker_app`` fixture force-removes the containers, and
        new specs draw other port blocks), then close the clients."""
        try:
            for service in self.runtime.services.of_app(self.app):
                self.runtime.services.remove(service)
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

    # --- beyond the contract: what the swarm runtime promises of itself ---

    def test_the_service_is_app_service_labelled_and_given_a_whole_update_config(
        self, adapter: SwarmAdapter
    ) -> None:
        target = adapter.release(1)
        promotion = plan(target)

        assert adapter.runtime.roll_out(promotion, adapter.journal.progress()) is None

        api = adapter.client.api
        spec = api.inspect_service(f"{adapter.app}-web")["Spec"]  # type: ignore[no-untyped-call]
        labels = spec["Labels"]
        assert (labels["ledger.app"], labels["ledger.release"], labels["ledger.promotion"]) == (
            adapter.app,
            target.release_id,
            promotion.promotion_id,
        )
        service = target.manifest.services[0]
        assert {"Delay": 0, **spec["UpdateConfig"]} == {  # the engine leaves out a zero delay
            "Parallelism": 1,
            "Delay": 0,
            "FailureAction": "pause",
            "Monitor": seconds(monitor_seconds(service)),
            "MaxFailureRatio": 0,
            "Order": "start-first",
        }
        assert spec["Mode"] == {"Replicated": {"Replicas": 2}}

    def test_a_task_that_exits_is_named_with_its_node_and_exit_code_in_the_cause_and_steps(
        self, adapter: SwarmAdapter
    ) -> None:
        node = adapter.client.info()["Name"]  # a node's name in the swarm: its hostname
        progress = adapter.journal.progress()

        cause = adapter.runtime.roll_out(plan(adapter.release(1, EXITS)), progress)

        assert cause is not None and cause.kind == CauseKind.PROCESS_FAILED
        assert (cause.node, cause.exit_code) == (node, 3)
        assert f"on node {node}" in cause.message
        failed = [m for k, m in progress.steps if k == StepKind.CONTAINER_FAILED]
        assert failed and f"failed on node {node}" in failed[0]

    def test_each_replica_has_its_own_port_a_new_release_others_and_a_restore_its_own_back(
        self, adapter: SwarmAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        before = adapter.tasks_up()
        failing = plan(adapter.release(2, EXITS), first)
        assert adapter.runtime.roll_out(failing, adapter.journal.progress()) is not None

        assert adapter.runtime.restore(failing, adapter.journal.progress()) is None

        assert len({port for _, port in before.values()}) == 2
        assert adapter.tasks_up() == before, "the tasks of v1 were not kept as they were"
        second = plan(adapter.release(3), first)
        assert adapter.runtime.roll_out(second, adapter.journal.progress()) is None
        after = {port for _, port in adapter.tasks_up().values()}
        assert len(after) == 2
        assert after.isdisjoint(port for _, port in before.values())
        assert versions(adapter.what_runs()) == {3}

    def test_a_service_without_a_port_runs_once_it_has_stayed_up_its_grace(
        self, adapter: SwarmAdapter
    ) -> None:
        worker = Service(name="worker", health=Health(grace=1.0), scale=1)
        target = replace(
            adapter.release(1),
            image=adapter.images.images.get("worker"),
            manifest=Manifest((worker,)),
        )
        progress = adapter.journal.progress()

        assert adapter.runtime.roll_out(plan(target), progress) is None

        assert adapter.what_runs() == [("worker.1", 1)]
        assert progress.kinds == [
            StepKind.SERVICE_UPDATED,
            StepKind.CONTAINER_STARTED,
            StepKind.CONTAINER_HEALTHY,
        ]

    def test_an_image_the_engine_lacks_fails_the_rollout_before_anything_runs(
        self, adapter: SwarmAdapter
    ) -> None:
        target = replace(adapter.release(1), image=f"{adapter.app}:missing")

        cause = adapter.runtime.roll_out(plan(target), adapter.journal.progress())

        assert cause is not None
        assert (cause.kind, cause.service) == (CauseKind.PROCESS_FAILED, "web")
        assert "could not start" in cause.message
        assert adapter.what_runs() == []

    def test_reconcile_gives_a_service_its_active_release_back_and_removes_what_it_lacks(
        self, adapter: SwarmAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        extra = Service(name="worker", health=Health(grace=0.5), scale=1)
        second = replace(
            adapter.release(2),
            manifest=Manifest((*first.manifest.services, extra)),
            images={"worker": adapter.images.images.get("worker")},
        )
        assert adapter.runtime.roll_out(plan(second, first), adapter.journal.progress()) is None

        adapter.restarted().reconcile({adapter.app: first})

        names = [s.name for s in adapter.runtime.services.of_app(adapter.app)]
        assert names == [f"{adapter.app}-web"]
        wait_until(lambda: adapter.what_runs() == [("web.1", 1), ("web.2", 1)], timeout=60)

    def test_an_update_that_never_ends_is_ended_by_the_promotion_s_deadline(
        self, adapter: SwarmAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        promotion = plan(adapter.release(2, SLOW), first, deadline=3)

        cause = adapter.runtime.roll_out(promotion, adapter.journal.progress())

        assert cause is not None
        assert cause.kind == CauseKind.DEADLINE_EXCEEDED
        assert "deadline (3 s) passed" in cause.message
        assert adapter.runtime.restore(promotion, adapter.journal.progress()) is None
        assert versions(adapter.what_runs()) == {1}
