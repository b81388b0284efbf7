"""The app's Swarm services and their tasks, as the manager reports them.

The manager is the only state: a service's labels say whose it is and which release
its spec runs (``spec``), its ``PreviousSpec`` which release ran before, and each task's
spec carries the container labels of the release it runs. Nothing is kept in memory,
so a new ``ledgerd`` after a crash reads where things are.

Output and health-check answers come from the task's container, which only the engine of
the node running it can show: on one node that is our engine. A task on another node
shows its state and error but no output.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import docker

from runtime.docker.engine import ENGINE_ERRORS, Engine
from runtime.docker.labels import APP, MANAGED
from runtime.swarm.ports import BLOCK_SIZE
from runtime.swarm.records import (
    TERMINAL,
    ServiceInfo,
    TaskInfo,
    container_labels,
    service_info,
    task_info,
)
from runtime.swarm.spec import PORTS, ServiceSpec

OUTPUT_LINES = 20
APPLY_TRIES = 5


class SpecRefused(Exception):
    """The manager refused a spec (an invalid image reference, for one)."""


class Services:
    """Service and task operations of the runtime, all through the manager's API."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._nodes: dict[str, str] = {}

    def node_name(self, node_id: str) -> str:
        """The hostname of the node ``node_id`` ("" for a task not yet placed), read from
        the manager once per node (a node's id never changes; its name rarely does)."""
        if not node_id:
            return ""
        if node_id not in self._nodes:
            try:
                row: dict[str, Any] = self.engine.api.inspect_node(node_id)
            except docker.errors.NotFound:
                return node_id[:12]
            description: dict[str, Any] = row.get("Description") or {}
            self._nodes[node_id] = str(description.get("Hostname") or node_id[:12])
        return self._nodes[node_id]

    def of_app(self, app: str) -> list[ServiceInfo]:
        """Every service of ``app``, by name."""
        return self._listed([f"{MANAGED}=true", f"{APP}={app}"])

    def all(self) -> list[ServiceInfo]:
        """Every service of ours, of any app."""
        return self._listed([f"{MANAGED}=true"])

    def _listed(self, labels: list[str]) -> list[ServiceInfo]:
        rows: list[dict[str, Any]] = self.engine.api.services(filters={"label": labels})  # type: ignore[no-untyped-call]
        return sorted((service_info(row) for row in rows), key=lambda s: s.name)

    def get(self, name: str) -> ServiceInfo | None:
        """The service named ``name`` (of ours or not), None if there is none."""
        try:
            row: dict[str, Any] = self.engine.api.inspect_service(name)  # type: ignore[no-untyped-call]
        except docker.errors.NotFound:
            return None
        return service_info(row)

    def apply(self, spec: ServiceSpec, current: ServiceInfo | None) -> None:
        """Create the service, or replace its whole spec with ``spec``. A stale version
        ("update out of sequence") or a name taken meanwhile is read again and retried.
        ``SpecRefused`` if the manager refuses the spec itself."""
        api = self.engine.api
        options: dict[str, Any] = {
            "name": spec.name,
            "labels": spec.labels,
            "mode": spec.mode,
            "update_config": spec.update_config,
            "rollback_config": spec.update_config,
        }
        for _ in range(APPLY_TRIES):
            try:
                if current is None:
                    api.create_service(spec.task_template, **options)  # type: ignore[no-untyped-call]
                else:
                    api.update_service(
                        current.id,
                        current.version_index,
                        task_template=spec.task_template,
                        fetch_current_spec=False,
                        **options,
                    )
                return
            except docker.errors.APIError as error:
                text = _explanation(error)
                stale = "out of sequence" in text or (current is None and error.status_code == 409)
                if not stale:
                    if error.status_code is not None and 400 <= error.status_code < 500:
                        raise SpecRefused(text) from None
                    raise
            current = self.get(spec.name)
        raise SpecRefused(f"service {spec.name} kept changing while it was updated")

    def remove(self, service: ServiceInfo) -> None:
        """Remove the service (its tasks are then shut down by the nodes)."""
        with contextlib.suppress(docker.errors.NotFound):
            self.engine.api.remove_service(service.id)  # type: ignore[no-untyped-call]

    def containers_up(self, service: ServiceInfo) -> int:
        """How many containers of the service's tasks this engine still runs."""
        label = f"com.docker.swarm.service.id={service.id}"
        rows: list[dict[str, Any]] = self.engine.api.containers(filters={"label": label})
        return len(rows)

    def tasks(self, service: ServiceInfo) -> list[TaskInfo]:
        """Every task of the service the manager still lists, by slot then age."""
        try:
            rows: list[dict[str, Any]] = self.engine.api.tasks(  # type: ignore[no-untyped-call]
                filters={"service": service.id}
            )
        except docker.errors.NotFound:  # the service has been removed
            return []
        found = [task_info(row, service.service) for row in rows]
        return sorted(found, key=lambda t: (t.slot, t.created or datetime.min.replace(tzinfo=UTC)))

    def used_blocks(self) -> set[int]:
        """The port blocks every service of ours holds (its spec's and its previous
        spec's) and every task of ours that has not ended."""
        used: set[int] = set()
        for service in self.all():
            used.update(b // BLOCK_SIZE for b in (service.base, service.previous_base) if b)
        # Every task not ended, whatever its desired state: a task of a removed or
        # replaced service holds its port on its node until it has stopped.
        rows: list[dict[str, Any]] = self.engine.api.tasks()  # type: ignore[no-untyped-call]
        for row in rows:
            state = str((row.get("Status") or {}).get("State", ""))
            if state in TERMINAL and row.get("DesiredState") != "running":
                continue
            base = container_labels(row.get("Spec") or {}, task=True).get(PORTS, "")
            if base.isdigit():
                used.add(int(base) // BLOCK_SIZE)
        return used

    def output(self, task: TaskInfo, lines: int = OUTPUT_LINES) -> str:
        """The last lines the task's container wrote, on whichever node it ran, as the
        manager relays them ("" if it cannot)."""
        if not task.container_id:
            return ""
        try:
            raw = self._task_logs(task.id, lines)
        except (docker.errors.APIError, *ENGINE_ERRORS):
            return ""
        return raw.decode("utf-8", "replace").rstrip()

    def _task_logs(self, task_id: str, lines: int) -> bytes:
        """``GET /tasks/{id}/logs``: the SDK has service logs but no task logs, so its
        client's own request helpers are used (typed as private, hence ``Any``)."""
        api: Any = self.engine.api
        params = {"stdout": 1, "stderr": 1, "tail": lines}
        answer = api._get(api._url("/tasks/{0}/logs", task_id), params=params, stream=False)
        api._raise_for_status(answer)
        raw = api._get_result_tty(False, answer, False)  # frames, as a container's logs
        return raw if isinstance(raw, bytes) else b"".join(raw)

    def node_down(self, node_id: str) -> bool:
        """Whether the manager has lost the node ``node_id`` (its tasks will never report
        again: they are as good as gone)."""
        if not node_id:
            return False
        try:
            row: dict[str, Any] = self.engine.api.inspect_node(node_id)
        except docker.errors.NotFound:
            return True
        return str((row.get("Status") or {}).get("State", "")) in ("down", "disconnected")

    def health(self, task: TaskInfo) -> tuple[str, str]:
        """The task's container's health status and its last check's output ("" and ""
        if this engine cannot show it, or it has no health check)."""
        if not task.container_id:
            return "", ""
        try:
            info: dict[str, Any] = self.engine.api.inspect_container(task.container_id)
        except docker.errors.APIError:
            return "", ""
        health = (info.get("State") or {}).get("Health") or {}
        log: list[dict[str, Any]] = health.get("Log") or []
        last = str(log[-1].get("Output") or "").strip() if log else ""
        return str(health.get("Status") or ""), last


def _explanation(error: docker.errors.APIError) -> str:
    text = str(error.explanation or error).strip()
    return (text.splitlines()[0] if text else "the engine refused")[:500]
