"""Watching one service until the release's spec runs there, healthy, and nothing else.

Swarm performs the rolling update itself; the ledger watches it, reports each change it
sees as a step, and decides when it is over:

- **success**: the update is ``completed`` (or there was none: a new service, a spec
  already applied), ``scale`` tasks of the release's spec are desired running, running
  and healthy (the container's health status where this engine can see it; a service
  without a port: running for ``grace`` seconds), and no task of another spec is still
  up. "Completed" alone is not enough: Swarm can say so with no healthy task at all.
- **failure**: a task of the release's spec that failed, was rejected or exited (the
  first one ends the rollout with its node, its exit code or health-check answer and
  last output, before Swarm restarts it), a task no node could take for
  ``UNSCHEDULED_GRACE`` seconds, or an update paused or rolled back by Swarm;
- **interruption**: cancellation or the deadline (an update may stay ``updating``
  forever: the ledger owns the deadline). The service is left as it is; the restore
  that follows applies the previous spec.

Failed tasks created before the spec was applied (an earlier attempt of the same
release) are not counted, nor a failed copy in a slot whose task of the same spec runs
(see ``_duplicate``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ledger.domain import Cause, CauseKind, StepKind
from ledger.manifest import Service
from ledger.runtime import Progress, ReleaseSpec
from runtime.docker.health import Limits
from runtime.swarm.records import STARTED, ServiceInfo, TaskInfo
from runtime.swarm.services import Services

POLL = 0.2
NO_NODE = "no suitable node"  # the scheduler's error of a task no node can take
UNSCHEDULED_GRACE = 5.0  # seconds a task may wait for a node before the rollout fails
STOPPED_BY_SWARM = frozenset(
    {"paused", "rollback_started", "rollback_paused", "rollback_completed"}
)


@dataclass
class Seen:
    """What the watch has reported so far (task ids)."""

    started: dict[str, float] = field(default_factory=dict)  # when first seen started
    healthy: set[str] = field(default_factory=set)
    old_up: dict[str, TaskInfo] = field(default_factory=dict)
    pending: dict[str, float] = field(default_factory=dict)  # unschedulable since
    update_state: str = ""  # the last state of the update reported
    lost: set[str] = field(default_factory=set)  # tasks on nodes that are down
    waiting: str = ""  # what the rollout waits for, once Swarm is done
    waiting_on: TaskInfo | None = None


class Watcher:
    """Follows one service's update to its end (see the module's docstring)."""

    def __init__(self, services: Services, unscheduled_grace: float = UNSCHEDULED_GRACE) -> None:
        self.services = services
        self.unscheduled_grace = unscheduled_grace

    def watch(
        self,
        release: ReleaseSpec,
        service: Service,
        target: ServiceInfo,
        since: datetime | None,
        adopting: bool,
        progress: Progress,
        limits: Limits,
    ) -> Cause | None:
        """Wait until ``target`` (the service holding the release's spec) runs the
        release. Tasks created before ``since`` (the manager's time) belong to an earlier
        attempt. ``adopting``: the spec was there already, so tasks already running are
        reported adopted rather than started."""
        seen = Seen()
        first = True
        while True:
            interrupted = limits.interruption(service.name)
            if interrupted is not None:
                return self._interrupted(interrupted, release, service, seen)
            info = self.services.get(target.name)
            if info is None or info.fingerprint != target.fingerprint:
                return Cause(
                    CauseKind.RUNTIME_ERROR,
                    f"service {target.name} was removed or changed by someone else while"
                    f" v{release.version} was rolled out",
                    service=service.name,
                )
            self._report_state(info, since, seen, progress)
            tasks = self.services.tasks(info)
            mine = [t for t in tasks if t.release == release.release_id]
            for task in mine:
                if task.failed and _since(task, since) and not _duplicate(task, mine):
                    return self._failed(task, release, service, progress)
            unschedulable = self._unschedulable(mine, seen, service, progress)
            if unschedulable is not None:
                return unschedulable
            others = [t for t in tasks if t not in mine]
            self._report(mine, others, service, seen, since, first and adopting, progress)
            first = False
            if info.update_state in STOPPED_BY_SWARM and _current(info, since):
                message = f"Swarm stopped the update of {info.name}: {info.update_state}"
                if info.update_message:
                    message += f" ({info.update_message})"
                progress.step(StepKind.CONTAINER_FAILED, message)
                return Cause(CauseKind.PROCESS_FAILED, message, service=service.name)
            if self._done(info, mine, tasks, service, seen, progress):
                return None
            pause = min(POLL, limits.remaining())
            if pause > 0:
                time.sleep(pause)

    def _report(
        self,
        mine: list[TaskInfo],
        others: list[TaskInfo],
        service: Service,
        seen: Seen,
        since: datetime | None,
        adopting: bool,
        progress: Progress,
    ) -> None:
        """Report what changed since the last look. A task of the release that was up
        before this attempt (a re-run, a restore keeping the old tasks) is adopted."""
        now = time.monotonic()
        for task in mine:
            if task.state in STARTED and task.id not in seen.started:
                seen.started[task.id] = now
                earlier = not _since(task, since) or adopting
                adopted = earlier and task.state == "running"
                kind = StepKind.CONTAINER_ADOPTED if adopted else StepKind.CONTAINER_STARTED
                verb = "adopted" if adopted else "started"
                progress.step(kind, f"{task.title} {verb} ({self._where(task)})")
            if (
                task.id in seen.started
                and task.id not in seen.healthy
                and self._healthy(task, service)
            ):
                seen.healthy.add(task.id)
                took = now - seen.started[task.id]
                progress.step(
                    StepKind.CONTAINER_HEALTHY,
                    f"{task.title} healthy on {self._node(task)} ({task.release_label},"
                    f" after {took:.1f} s)",
                )
        listed = {t.id: t for t in others}
        for task in others:
            if task.state in STARTED:
                seen.old_up[task.id] = task
        for task_id, task in list(seen.old_up.items()):
            now_task = listed.get(task_id)
            if now_task is None or not now_task.active:
                del seen.old_up[task_id]
                progress.step(
                    StepKind.CONTAINER_STOPPED,
                    f"{task.title} stopped on {self._node(task)} ({task.release_label})",
                )

    def _report_state(
        self, info: ServiceInfo, since: datetime | None, seen: Seen, progress: Progress
    ) -> None:
        """Swarm's own account of the update, each time it changes (``updating``,
        ``completed``, ``paused``, ``rollback_started``, ... with its message)."""
        state = info.update_state
        if not state or state == seen.update_state or not _current(info, since):
            return
        seen.update_state = state
        message = f" ({info.update_message})" if info.update_message else ""
        progress.step(StepKind.UPDATE_STATE, f"Swarm: update of {info.name} {state}{message}")

    def _healthy(self, task: TaskInfo, service: Service) -> bool:
        if task.state != "running":
            return False
        if service.http:
            status, _ = self.services.health(task)
            return status in ("healthy", "")  # "": another node's task; Swarm checked it
        if task.changed is None:
            return False
        return (datetime.now(UTC) - task.changed).total_seconds() >= service.health.grace

    def _done(
        self,
        info: ServiceInfo,
        mine: list[TaskInfo],
        tasks: list[TaskInfo],
        service: Service,
        seen: Seen,
        progress: Progress,
    ) -> bool:
        """Whether the release runs, healthy, and nothing else does; else ``seen.waiting``
        says what it waits for (named by a deadline). A task on a node the manager has
        lost never reports its end: it is counted gone (and said so, once)."""
        if info.update_state not in ("", "completed"):
            seen.waiting = f"Swarm's update ({info.update_state})"
            return False
        wanted = [t for t in mine if t.desired == "running" and not t.failed]
        unhealthy = [t for t in wanted if t.id not in seen.healthy]
        if len(wanted) != service.scale or unhealthy:
            short = service.scale - len(wanted) + len(unhealthy)
            seen.waiting = f"{short} of {service.scale} replicas to be healthy"
            seen.waiting_on = unhealthy[0] if unhealthy else None
            return False
        for task in (t for t in tasks if t not in wanted and t.active):
            if task.id in seen.lost:
                continue
            if not self.services.node_down(task.node_id):
                seen.waiting = f"{task.title} ({task.release_label}) on {self._node(task)} to stop"
                seen.waiting_on = task
                return False
            seen.lost.add(task.id)
            progress.step(
                StepKind.CONTAINER_STOPPED,
                f"{task.title} lost on {self._node(task)} ({task.release_label}): the node is"
                " down, the task counts as gone",
            )
        return True

    def _failed(
        self, task: TaskInfo, release: ReleaseSpec, service: Service, progress: Progress
    ) -> Cause:
        name = self.services.node_name(task.node_id)
        node = f"node {name or '(none yet)'}"
        title = f"{task.title} ({task.release_label}) on {node}"
        why = task.error or task.message or task.state
        if "unhealthy" in why.lower():  # "task: non-zero exit (143): ... unhealthy container"
            _, last = self.services.health(task)
            health = service.health
            cause = Cause(
                CauseKind.HEALTH_CHECK_FAILED,
                f"{title} did not pass its health check (GET {health.path}) within"
                f" {health.grace:g} s: {last or why}",
                last_response=last or why,
            )
            step = (
                f"{task.title} failed on {node} ({task.release_label}): health check: {last or why}"
            )
        elif task.state == "rejected" or not task.container_id:
            cause = Cause(CauseKind.PROCESS_FAILED, f"{title} could not start: {why}")
            step = f"{task.title} could not start on {node} ({task.release_label}): {why}"
        else:
            cause = Cause(
                CauseKind.PROCESS_FAILED,
                f"{title} exited with code {task.exit_code}",
                exit_code=task.exit_code,
            )
            step = (
                f"{task.title} failed on {node} ({task.release_label}):"
                f" exited with code {task.exit_code}"
            )
        progress.step(StepKind.CONTAINER_FAILED, step)
        container = f"{release.app}-{service.name}.{task.slot}.{task.id}"
        return replace(
            cause,
            service=service.name,
            node=name,
            container=container,
            output=self.services.output(task),
        )

    def _node(self, task: TaskInfo) -> str:
        return f"node {self.services.node_name(task.node_id) or '(none yet)'}"

    def _unschedulable(
        self, mine: list[TaskInfo], seen: Seen, service: Service, progress: Progress
    ) -> Cause | None:
        """A task the scheduler has kept pending for ``unscheduled_grace`` seconds
        because no node suits it (constraints, resources, every node down or drained):
        Swarm would keep it pending forever."""
        now = time.monotonic()
        for task in mine:
            if task.state != "pending" or NO_NODE not in task.error:
                seen.pending.pop(task.id, None)
                continue
            since = seen.pending.setdefault(task.id, now)
            if now - since >= self.unscheduled_grace:
                message = f"{task.title} ({task.release_label}): no node could run it: {task.error}"
                progress.step(StepKind.CONTAINER_FAILED, message)
                return Cause(CauseKind.UNSCHEDULABLE, message, service=service.name)
        return None

    def _where(self, task: TaskInfo) -> str:
        port = f", port {task.port}" if task.port is not None else ""
        return f"{task.release_label} on {self._node(task)}{port}, task {task.id[:12]}"

    def _interrupted(
        self, cause: Cause, release: ReleaseSpec, service: Service, seen: Seen
    ) -> Cause:
        if cause.kind != CauseKind.DEADLINE_EXCEEDED:
            return cause
        healthy = len(seen.healthy)
        detail = (
            f" while {service.name} of v{release.version} had {healthy} of {service.scale}"
            " healthy replicas"
        )
        if seen.waiting:
            detail += f", waiting for {seen.waiting}"
        node = self.services.node_name(seen.waiting_on.node_id) if seen.waiting_on else ""
        return replace(cause, message=cause.message + detail, node=node)


def _since(task: TaskInfo, since: datetime | None) -> bool:
    """Whether the task was created by this attempt (not by an earlier one)."""
    return since is None or task.created is None or task.created >= since


def _duplicate(task: TaskInfo, mine: list[TaskInfo]) -> bool:
    """Whether another task of the same spec runs in the failed task's slot. Swarm's
    restart of a task that failed as its spec was being replaced is made from the
    service's spec of that moment: during a restore, a second copy of the restored spec
    in a slot whose task kept running. It fails on that task's port, and Swarm removes
    it; the slot is fine."""
    return any(
        t.slot == task.slot and t.id != task.id and t.state == "running" and t.desired == "running"
        for t in mine
    )


def _current(info: ServiceInfo, since: datetime | None) -> bool:
    """Whether the service's update status is about this attempt's spec."""
    return since is None or info.update_started is None or info.update_started >= since
