"""Turning the engine's records into placements (``ps``): a container or a Swarm task as
a task with its node, state, release and, for one that failed, why; in the order people
read them (service, slot, newest first)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.docker import placement as docker_placement
from runtime.docker.containers import State
from runtime.docker.labels import ContainerInfo
from runtime.swarm import placement as swarm_placement
from runtime.swarm.records import TaskInfo

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NODES = {"n1": "node-1", "n2": "node-2"}


def container(
    index: int, release: str = "R1", created: datetime = T0, **fields: Any
) -> ContainerInfo:
    made = ContainerInfo(
        id=f"c{index}{release}",
        name=f"ledger-shop-web-{release}-{index}",
        app="shop",
        release=release,
        version="3",
        promotion="P1",
        service="web",
        index=index,
        port=10000 + index,
        state="running",
        created=created,
    )
    return replace(made, **fields)


def running(started: datetime = T0) -> State:
    return State(running=True, status="running", exit_code=0, started_at=started)


def exited(code: int, ended: datetime, **fields: Any) -> State:
    made = State(running=False, status="exited", exit_code=code, started_at=T0)
    return replace(made, finished_at=ended, **fields)


def task(slot: int, state: str = "running", created: datetime = T0, **fields: Any) -> TaskInfo:
    made = TaskInfo(
        id=f"t{slot}-{state}-{created.timestamp()}",
        service="web",
        slot=slot,
        release="R1",
        version="3",
        state=state,
        desired="running",
        error="",
        message="",
        exit_code=0,
        container_id="",
        node_id="n1",
        port=21300 + slot,
        created=created,
        changed=created + timedelta(seconds=2),
    )
    return replace(made, **fields)


# --- docker ---


def test_a_running_container_is_a_running_task_on_the_engine_s_host_since_it_started() -> None:
    started = T0 + timedelta(seconds=1)

    placement = docker_placement.placement_of(container(2), running(started), "host-a")

    assert placement.title == "web.2"
    assert (placement.node, placement.state, placement.since) == ("host-a", "running", started)
    assert (placement.release_id, placement.release_version, placement.port) == ("R1", 3, 10002)
    assert placement.message == ""


def test_a_container_that_exited_says_since_when_and_its_exit_code() -> None:
    ended = T0 + timedelta(minutes=5)

    placement = docker_placement.placement_of(container(1), exited(3, ended), "host-a")

    assert (placement.state, placement.since, placement.message) == ("exited", ended, "exit code 3")


def test_a_container_killed_for_memory_says_so_with_the_engine_s_error() -> None:
    state = exited(137, T0, oom_killed=True, error="cgroup limit")

    placement = docker_placement.placement_of(container(1), state, "host-a")

    assert placement.message == "exit code 137 (out of memory): cgroup limit"


def test_containers_are_ordered_by_service_then_slot_then_newest_first() -> None:
    old = container(1, "R1", created=T0)
    new = container(1, "R2", created=T0 + timedelta(seconds=30))
    second = container(2, "R1")
    worker = container(1, "R1", service="worker")

    placements = docker_placement.arranged(
        [(worker, running()), (second, running()), (old, running()), (new, running())], "host-a"
    )

    assert [(p.title, p.release_id) for p in placements] == [
        ("web.1", "R2"),
        ("web.1", "R1"),
        ("web.2", "R1"),
        ("worker.1", "R1"),
    ]


# --- swarm ---


def test_a_running_task_is_placed_on_its_node_by_hostname_since_it_changed_state() -> None:
    found = task(2, node_id="n2")

    placement = swarm_placement.placement_of(found, NODES[found.node_id])

    assert (placement.title, placement.node, placement.state) == ("web.2", "node-2", "running")
    assert (placement.release_id, placement.release_version, placement.port) == ("R1", 3, 21302)
    assert (placement.since, placement.message) == (found.changed, "")


def test_a_failed_task_carries_the_manager_s_error() -> None:
    failed = task(1, "failed", error="task: non-zero exit (3)", exit_code=3)

    assert swarm_placement.placement_of(failed, "node-1").message == "task: non-zero exit (3)"


def test_a_task_whose_process_ended_while_meant_to_run_says_its_exit_code() -> None:
    ended = task(1, "complete", exit_code=0)

    assert swarm_placement.placement_of(ended, "node-1").message == "exit code 0"


def test_a_task_shut_down_by_an_update_is_no_failure() -> None:
    replaced = task(1, "shutdown", desired="shutdown")

    placement = swarm_placement.placement_of(replaced, "node-1")

    assert (placement.state, placement.message) == ("shutdown", "")


def test_tasks_are_ordered_by_service_then_slot_then_newest_first_each_on_its_node() -> None:
    old = task(1, "shutdown", created=T0, node_id="n2")
    new = task(1, created=T0 + timedelta(seconds=30))
    unplaced = task(2, "pending", node_id="")

    placements = swarm_placement.arranged([unplaced, old, new], lambda n: NODES.get(n, ""))

    assert [(p.title, p.state, p.node) for p in placements] == [
        ("web.1", "running", "node-1"),
        ("web.1", "shutdown", "node-2"),
        ("web.2", "pending", ""),
    ]
