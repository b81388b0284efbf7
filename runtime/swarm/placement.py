"""Where the app's tasks run on the swarm, as the runtime port's placements (``ps``).

The manager lists each service's tasks: those running or on their way, and the ended
ones it still keeps (its task history: a few per slot), a failed or rejected one with
its error. Each task's spec carries its release's labels and its port is its block's
plus its slot (see ``records``); its node is named by hostname, read once per node
(``Services.node_name``). Only the manager is asked, so a task on any node shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from ledger.runtime import TaskPlacement
from runtime.swarm.records import TaskInfo
from runtime.swarm.services import Services

_EPOCH = datetime.min.replace(tzinfo=UTC)


def placements(services: Services, app: str) -> list[TaskPlacement]:
    """Every task of ``app``'s services the manager lists, by service, then slot, newest
    first. Raises the SDK's errors (the adapter translates them)."""
    tasks = [task for service in services.of_app(app) for task in services.tasks(service)]
    return arranged(tasks, services.node_name)


def arranged(tasks: Iterable[TaskInfo], node_name: Callable[[str], str]) -> list[TaskPlacement]:
    """The tasks as placements, each on the node ``node_name`` names for its node id: by
    service, then slot, newest first."""
    return [placement_of(task, node_name(task.node_id)) for task in sorted(tasks, key=_order)]


def placement_of(task: TaskInfo, node: str) -> TaskPlacement:
    """One task as a placement: its state as the manager says it, since when, and for a
    task that failed, why."""
    return TaskPlacement(
        service=task.service,
        slot=task.slot,
        node=node,
        state=task.state,
        release_id=task.release,
        release_version=int(task.version) if task.version.isdigit() else 0,
        port=task.port,
        since=task.changed,
        message=why_it_failed(task) if task.failed else "",
    )


def why_it_failed(task: TaskInfo) -> str:
    """The manager's error (``task: non-zero exit (3)``), else the container's exit code
    (a process that ended by itself while it was meant to run)."""
    return task.error or f"exit code {task.exit_code}"


def _order(task: TaskInfo) -> tuple[str, int, float]:
    """By service, then slot, newest first."""
    return task.service, task.slot, -(task.created or _EPOCH).timestamp()
