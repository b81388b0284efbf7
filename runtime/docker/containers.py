"""The app's containers on the engine: listing, start, stop, state and output.

Containers run detached with host networking, the release's env (plus ``$PORT`` for a
replica of an HTTP service), and an init process as PID 1 (so SIGTERM reaches the app
and a graceful stop is quick). What they are is in their labels (see ``labels``), never
in our memory. A replica that passed its health check has the restart policy
``unless-stopped`` (see ``Containers.keep_running``).
"""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import docker

from ledger.manifest import Service
from ledger.runtime import ReleaseSpec
from runtime.docker.engine import Engine, engine_time
from runtime.docker.labels import (
    APP,
    INDEX,
    MANAGED,
    PORT,
    PROMOTION,
    RELEASE,
    RUN,
    SERVICE,
    VERSION,
    ContainerInfo,
    container_name,
    from_row,
)
from runtime.docker.ports import PortAllocator

OUTPUT_LINES = 20
# What a healthy replica is given so that the engine starts it again after it restarts
# (or the host reboots), or after the process dies; a container the runtime stops (or
# ``docker stop``/``kill`` by hand) stays stopped. See ``keep_running``.
# Typed Any: the SDK's stubs know only "always" and "on-failure".
RESTART_POLICY: Any = {"Name": "unless-stopped"}


class StartFailed(Exception):
    """The engine refused to create or start a container (the message says why)."""


@dataclass(frozen=True)
class State:
    """Whether a container still runs, and how it ended if not."""

    running: bool
    status: str
    exit_code: int
    started_at: datetime | None
    oom_killed: bool = False
    error: str = ""
    finished_at: datetime | None = None


class Containers:
    """Container operations of the runtime, all through the engine's API."""

    def __init__(
        self, engine: Engine, ports: PortAllocator, *, init: bool = True, stop_timeout: int = 10
    ) -> None:
        self.engine = engine
        self.ports = ports
        self.init = init
        self.stop_timeout = stop_timeout

    def of_app(self, app: str) -> list[ContainerInfo]:
        """All of the app's containers, whatever their state, by service and index."""
        found = self._listed([f"{MANAGED}=true", f"{APP}={app}"])
        return sorted(found, key=lambda c: (c.service, c.release, c.index))

    def runs_of_app(self, app: str) -> list[ContainerInfo]:
        """The containers of the app's one-off commands, whatever their state."""
        return sorted(self._listed([RUN, f"{APP}={app}"]), key=lambda c: c.run)

    def used_ports(self) -> set[int]:
        """The ports of every container of ours, of any app (running or not)."""
        return {c.port for c in self._listed([f"{MANAGED}=true"]) if c.port is not None}

    def _listed(self, labels: list[str]) -> list[ContainerInfo]:
        rows: list[dict[str, Any]] = self.engine.api.containers(all=True, filters={"label": labels})
        return [from_row(row) for row in rows]

    def start(
        self, release: ReleaseSpec, service: Service, promotion_id: str, index: int
    ) -> ContainerInfo:
        """Create and start replica ``index`` of ``service`` of ``release``; a stale
        container of the same name (left by a crashed run) is removed first."""
        if not service.http:
            return self._create_and_start(release, service, promotion_id, index, None)
        with self.ports.reserve(self.used_ports) as port:
            return self._create_and_start(release, service, promotion_id, index, port)

    def _create_and_start(
        self,
        release: ReleaseSpec,
        service: Service,
        promotion_id: str,
        index: int,
        port: int | None,
    ) -> ContainerInfo:
        serving = {
            MANAGED: "true",
            PROMOTION: promotion_id,
            INDEX: str(index),
            PORT: "" if port is None else str(port),
        }
        name = container_name(release.app, service.name, release.release_id, index)
        command = shlex.split(service.command) if service.command else None
        container = self.create(release, service, name, serving, command, port)
        self.begin(container)
        return replace(container, state="running")

    def create(
        self,
        release: ReleaseSpec,
        service: Service,
        name: str,
        labels: dict[str, str],
        command: list[str] | None,
        port: int | None = None,
    ) -> ContainerInfo:
        """Create (not start) a container of ``service`` of ``release`` named ``name``, as
        every container of ours is made: host networking, an init process, the release's
        env with the service's defaults (plus ``$PORT`` when given), the labels saying
        whose it is plus ``labels``, and ``command`` (None: the image's). A stale
        container of the same name (left by a crashed run) is removed first.
        ``StartFailed`` if the engine refuses."""
        api = self.engine.api
        env = service.env_for(release.env)
        if port is not None:
            env["PORT"] = str(port)
        labels = {**_owner_labels(release, service), **labels}
        options: dict[str, Any] = {
            "command": command,
            "name": name,
            "environment": env,
            "labels": labels,
            "detach": True,
            "host_config": api.create_host_config(network_mode="host", init=self.init),
        }
        image = release.image_of(service.name)
        try:
            try:
                created: dict[str, Any] = api.create_container(image, **options)
            except docker.errors.APIError as error:
                if error.status_code != 409:  # 409: the name is taken by a stale container
                    raise
                self._remove(name)
                created = api.create_container(image, **options)
        except docker.errors.APIError as error:
            raise StartFailed(_explanation(error)) from None
        return from_row(
            {"Id": created["Id"], "Names": [name], "Labels": labels, "State": "created"}
        )

    def begin(self, container: ContainerInfo) -> None:
        """Start a created container; ``StartFailed`` if the engine refuses (its process
        could not be run: no such executable, for one)."""
        try:
            self.engine.api.start(container.id)
        except docker.errors.APIError as error:
            raise StartFailed(_explanation(error)) from None

    def keep_running(self, container: ContainerInfo) -> None:
        """Have the engine start ``container`` again whenever it ends, except when stopped
        on purpose: after an engine restart or a reboot the live release comes back.

        Given only once a replica is healthy, never at creation: a new container that
        exits or fails its health check must stay down for the rollout to see it fail
        (an engine restarting it would hide the exit between two looks), and the
        rollout's own stops mark a container stopped on purpose, so it never comes back."""
        self.engine.api.update_container(container.id, restart_policy=RESTART_POLICY)

    def state(self, container: ContainerInfo) -> State:
        """The container's state now (a container gone from the engine counts as exited)."""
        try:
            info: dict[str, Any] = self.engine.api.inspect_container(container.id)
        except docker.errors.NotFound:
            return State(running=False, status="removed", exit_code=-1, started_at=None)
        state = info.get("State") or {}
        return State(
            running=bool(state.get("Running")) and not state.get("Restarting"),
            status=str(state.get("Status", "")),
            exit_code=int(state.get("ExitCode") or 0),
            started_at=engine_time(str(state.get("StartedAt") or "")),
            oom_killed=bool(state.get("OOMKilled")),
            error=str(state.get("Error") or ""),
            finished_at=engine_time(str(state.get("FinishedAt") or "")),
        )

    def output(self, container: ContainerInfo, lines: int = OUTPUT_LINES) -> str:
        """The last lines the container wrote (stdout and stderr), "" if it has gone."""
        try:
            raw: bytes = self.engine.api.logs(container.id, stdout=True, stderr=True, tail=lines)
        except docker.errors.APIError:
            return ""
        return raw.decode("utf-8", "replace").rstrip()

    def stop(self, container: ContainerInfo) -> None:
        """Stop gracefully (SIGTERM, then SIGKILL after ``stop_timeout`` s), then remove."""
        try:
            self.engine.api.stop(container.id, timeout=self.stop_timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            pass  # already stopping or dead: removing it below settles it
        self._remove(container.id)

    def kill(self, container: ContainerInfo) -> None:
        """Kill the container's processes at once (SIGKILL; exit code 137), keeping it."""
        with contextlib.suppress(docker.errors.APIError):  # gone or not running: done
            self.engine.api.kill(container.id)

    def remove(self, container: ContainerInfo) -> None:
        """Remove a container that is not running (or kill it if it is)."""
        self._remove(container.id)

    def _remove(self, id_or_name: str) -> None:
        try:
            self.engine.api.remove_container(id_or_name, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if error.status_code != 409:  # 409: a removal is already in progress
                raise


def _owner_labels(release: ReleaseSpec, service: Service) -> dict[str, str]:
    """The labels saying whose a container is, on every container of ours."""
    return {
        APP: release.app,
        RELEASE: release.release_id,
        VERSION: str(release.version),
        SERVICE: service.name,
    }


def _explanation(error: docker.errors.APIError) -> str:
    text = str(error.explanation or error).strip()
    return (text.splitlines()[0] if text else "the engine refused")[:500]
