"""Services and tasks as the manager lists them, read into records.

Whose a service is and which release its spec runs are its labels; which release a task
runs and its port block are the container labels of the task's spec; a task's port is
its block's first port plus its slot (see ``ports``). The manager's times carry
nanoseconds and are read to the microsecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.docker.engine import engine_time
from runtime.docker.labels import APP, PROMOTION, RELEASE, SERVICE, VERSION
from runtime.swarm.ports import port_of
from runtime.swarm.spec import FINGERPRINT, PORTS

# Task states after which a task never runs again.
TERMINAL = frozenset({"complete", "shutdown", "failed", "rejected", "orphaned", "remove"})
FAILED = frozenset({"failed", "rejected", "orphaned"})
# Task states in which its container exists and may be running.
STARTED = frozenset({"starting", "running"})


@dataclass(frozen=True)
class TaskInfo:
    """One task of a service as the manager lists it."""

    id: str
    service: str  # the manifest's service name
    slot: int
    release: str
    version: str
    state: str  # new | pending | ... | starting | running | complete | failed | ...
    desired: str  # running | shutdown | remove
    error: str
    message: str
    exit_code: int
    container_id: str
    node_id: str
    port: int | None
    created: datetime | None
    changed: datetime | None  # when it entered its current state

    @property
    def title(self) -> str:
        """How people name a replica: ``web.2``."""
        return f"{self.service}.{self.slot}"

    @property
    def release_label(self) -> str:
        return f"v{self.version}" if self.version else self.release

    @property
    def active(self) -> bool:
        """Not yet ended: it runs, or may still."""
        return self.state not in TERMINAL

    @property
    def failed(self) -> bool:
        return self.state in FAILED or (self.state == "complete" and self.desired == "running")


@dataclass(frozen=True)
class ServiceInfo:
    """One service of ours: whose it is, which release its spec runs, how its update goes."""

    id: str
    name: str
    version_index: int
    app: str
    service: str
    release: str
    version: str
    promotion: str
    fingerprint: str
    base: int | None  # the first port of its spec's block
    previous_release: str
    previous_base: int | None
    replicas: int
    update_state: str  # "" (none) | updating | paused | completed | rollback_...
    update_message: str
    update_started: datetime | None
    created: datetime | None
    updated: datetime | None


def service_info(row: dict[str, Any]) -> ServiceInfo:
    spec: dict[str, Any] = row.get("Spec") or {}
    previous: dict[str, Any] = row.get("PreviousSpec") or {}
    labels: dict[str, str] = spec.get("Labels") or {}
    container = container_labels(spec)
    status: dict[str, Any] = row.get("UpdateStatus") or {}
    replicated = (spec.get("Mode") or {}).get("Replicated") or {}
    return ServiceInfo(
        id=str(row["ID"]),
        name=str(spec.get("Name", "")),
        version_index=int((row.get("Version") or {}).get("Index", 0)),
        app=labels.get(APP, ""),
        service=labels.get(SERVICE, ""),
        release=labels.get(RELEASE, ""),
        version=labels.get(VERSION, ""),
        promotion=labels.get(PROMOTION, ""),
        fingerprint=labels.get(FINGERPRINT, ""),
        base=_number(container.get(PORTS, "")),
        previous_release=(previous.get("Labels") or {}).get(RELEASE, ""),
        previous_base=_number(container_labels(previous).get(PORTS, "")),
        replicas=int(replicated.get("Replicas", 0) or 0),
        update_state=str(status.get("State", "")),
        update_message=str(status.get("Message", "")),
        update_started=engine_time(str(status.get("StartedAt", ""))),
        created=engine_time(str(row.get("CreatedAt", ""))),
        updated=engine_time(str(row.get("UpdatedAt", ""))),
    )


def task_info(row: dict[str, Any], service: str) -> TaskInfo:
    status: dict[str, Any] = row.get("Status") or {}
    container: dict[str, Any] = status.get("ContainerStatus") or {}
    labels = container_labels(row.get("Spec") or {}, task=True)
    slot = int(row.get("Slot") or 0)
    base = _number(labels.get(PORTS, ""))
    return TaskInfo(
        id=str(row["ID"]),
        service=service,
        slot=slot,
        release=labels.get(RELEASE, ""),
        version=labels.get(VERSION, ""),
        state=str(status.get("State", "")),
        desired=str(row.get("DesiredState", "")),
        error=str(status.get("Err", "")),
        message=str(status.get("Message", "")),
        exit_code=int(container.get("ExitCode") or 0),
        container_id=str(container.get("ContainerID", "")),
        node_id=str(row.get("NodeID", "")),
        port=port_of(base, slot) if base is not None else None,
        created=engine_time(str(row.get("CreatedAt", ""))),
        changed=engine_time(str(status.get("Timestamp", ""))),
    )


def container_labels(spec: dict[str, Any], task: bool = False) -> dict[str, str]:
    """The container labels of a service spec (or of a task's spec, with ``task``)."""
    template = spec if task else (spec.get("TaskTemplate") or {})
    labels: dict[str, str] = (template.get("ContainerSpec") or {}).get("Labels") or {}
    return labels


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None
