"""Watching a service's update, without an engine: what the manager lists is given by the
test (our ``Services`` seam stood in for), and the watcher's verdicts and steps are read.

The engine-backed scenarios (health checks, exits, restores) are the contract suite's;
these are the cases a single-node engine cannot show on demand: a task no node can take,
a task failing on a named node of several, Swarm's own update states."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

from ledger.domain import Cause, CauseKind, StepKind
from ledger.ids import RELEASE, new_id
from ledger.manifest import Health, Manifest, Service
from ledger.runtime import ReleaseSpec
from runtime.docker.health import Limits
from runtime.swarm.records import ServiceInfo, TaskInfo
from runtime.swarm.services import Services
from runtime.swarm.watch import Watcher
from tests.support.runtimes import Recorder

WEB = Service(name="web", port=3000, scale=1, health=Health(grace=1.0))
RELEASE_V2 = ReleaseSpec(
    app="shop",
    release_id=new_id(RELEASE),
    version=2,
    build_id="B" + "A" * 10,
    image="sha256:abc",
    env={},
    manifest=Manifest((WEB,)),
)
SERVICE = ServiceInfo(
    id="svc1", name="shop-web", version_index=9, app="shop", service="web",
    release=RELEASE_V2.release_id, version="2", promotion="P1", fingerprint="f1",
    base=21300, previous_release="", previous_base=None, replicas=1, update_state="updating",
    update_message="update in progress", update_started=None, created=None, updated=None,
)  # fmt: skip
TASK = TaskInfo(
    id="task1", service="web", slot=1, release=RELEASE_V2.release_id, version="2",
    state="running", desired="running", error="", message="", exit_code=0,
    container_id="", node_id="node3id", port=21301, created=None, changed=None,
)  # fmt: skip


class Listed:
    """Stands in for ``Services``: the service and tasks the manager lists, in turn."""

    def __init__(self, *states: tuple[ServiceInfo, list[TaskInfo]], down: str = "") -> None:
        self.states = list(states)
        self.down = down  # the id of a node the manager has lost

    def get(self, name: str) -> ServiceInfo:
        return self.states[0][0]

    def tasks(self, service: ServiceInfo) -> list[TaskInfo]:
        tasks = self.states[0][1]
        if len(self.states) > 1:
            self.states.pop(0)
        return tasks

    def node_name(self, node_id: str) -> str:
        return {"node3id": "node-3", "node1id": "node-1"}.get(node_id, "")

    def node_down(self, node_id: str) -> bool:
        return node_id == self.down

    def health(self, task: TaskInfo) -> tuple[str, str]:
        return "", ""  # another node's container: the manager's engine cannot see it

    def output(self, task: TaskInfo) -> str:
        return ""


def watch(
    listed: Listed, grace: float = 0.0, seconds: float = 5.0
) -> tuple[Cause | None, Recorder]:
    progress = Recorder()
    limits = Limits(
        deadline=time.monotonic() + seconds, cancelled=lambda: False, deadline_text="deadline"
    )
    watcher = Watcher(cast(Services, listed), unscheduled_grace=grace)
    cause = watcher.watch(RELEASE_V2, WEB, SERVICE, None, False, progress, limits)
    return cause, progress


def test_a_task_no_node_can_take_fails_the_rollout_as_unschedulable() -> None:
    pending = replace(
        TASK,
        state="pending",
        node_id="",
        error="no suitable node (scheduling constraints not satisfied on 3 nodes)",
    )

    cause, progress = watch(Listed((SERVICE, [pending])))

    assert cause is not None
    assert cause.kind == CauseKind.UNSCHEDULABLE
    assert "no node could run it: no suitable node" in cause.message
    assert progress.steps[-1][0] == StepKind.CONTAINER_FAILED


def test_a_task_that_exits_on_another_node_names_that_node_in_the_cause() -> None:
    failed = replace(
        TASK, state="failed", error="task: non-zero exit (3)", exit_code=3, container_id="c1"
    )

    cause, progress = watch(Listed((SERVICE, [failed])))

    assert cause is not None
    assert (cause.kind, cause.node, cause.exit_code) == (
        CauseKind.PROCESS_FAILED,
        "node-3",
        3,
    )
    assert "web.1 failed on node node-3 (v2): exited with code 3" in progress.steps[-1][1]


def test_each_update_state_swarm_reports_is_a_step_once_and_completed_ends_the_watch() -> None:
    now = datetime.now(UTC)
    starting = replace(TASK, state="starting", changed=now)
    running = replace(TASK, state="running", changed=now)
    done = replace(SERVICE, update_state="completed", update_message="update completed")
    listed = Listed(
        (SERVICE, [starting]), (SERVICE, [starting]), (SERVICE, [running]), (done, [running])
    )

    cause, progress = watch(listed)

    assert cause is None
    states = [m for k, m in progress.steps if k == StepKind.UPDATE_STATE]
    assert states == [
        "Swarm: update of shop-web updating (update in progress)",
        "Swarm: update of shop-web completed (update completed)",
    ]
    assert "web.1 healthy on node node-3 (v2" in " ".join(m for _, m in progress.steps)


def test_an_old_task_on_a_node_that_is_down_counts_as_gone_and_is_said_so() -> None:
    now = datetime.now(UTC)
    new = replace(TASK, state="running", changed=now, node_id="node1id")
    done = replace(SERVICE, update_state="completed")
    old = replace(TASK, id="old1", release="R-v1", version="1", desired="shutdown")

    cause, progress = watch(Listed((done, [new, old]), down="node3id"))

    assert cause is None
    assert "web.1 lost on node node-3 (v1): the node is down" in progress.steps[-1][1]


def test_a_deadline_names_the_task_the_rollout_waited_for_and_its_node() -> None:
    now = datetime.now(UTC)
    new = replace(TASK, state="running", changed=now, node_id="node1id")
    done = replace(SERVICE, update_state="completed")
    old = replace(TASK, id="old1", release="R-v1", version="1", desired="shutdown")

    cause, _ = watch(Listed((done, [new, old])), seconds=0.5)

    assert cause is not None and cause.kind == CauseKind.DEADLINE_EXCEEDED
    assert cause.message.endswith("waiting for web.1 (v1) on node node-3 to stop")
    assert cause.node == "node-3"


def test_a_failed_copy_in_a_slot_whose_task_of_the_same_spec_runs_is_not_a_failure() -> None:
    now = datetime.now(UTC)
    kept = replace(TASK, state="running", changed=now)
    copy = replace(TASK, id="copy1", state="failed", exit_code=1, container_id="c2")
    done = replace(SERVICE, update_state="completed")

    cause, progress = watch(Listed((done, [kept, copy])))

    assert cause is None
    assert not [m for k, m in progress.steps if k == StepKind.CONTAINER_FAILED]
