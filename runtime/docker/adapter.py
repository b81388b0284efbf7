"""``DockerRuntime``: the runtime port implemented on one Docker Engine.

Builds images from source, and promotes releases by rolling updates of containers with
host networking, each listening on its own ``$PORT`` and checked over HTTP on
127.0.0.1. The engine's labels are the only state, so every operation may be re-run by
a new process after a crash. One instance is shared by all promotion and build threads:
it holds only the engine client (thread-safe) and the port allocator (locked).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from ledger.domain import Cause
from ledger.errors import Unavailable
from ledger.manifest import Manifest
from ledger.runtime import (
    BuildFailed,
    BuildLog,
    BuildRequest,
    BuiltImages,
    CommandOutput,
    CommandRequest,
    Progress,
    ReleaseSpec,
    RolloutPlan,
    Runtime,
    TaskPlacement,
)
from runtime.docker.containers import Containers
from runtime.docker.engine import ENGINE_ERRORS, ClientFactory, Engine
from runtime.docker.health import HealthWaiter, Limits
from runtime.docker.images import build_images, resolve_image
from runtime.docker.oneoff import OneOffRunner
from runtime.docker.outage import Outages
from runtime.docker.placement import Placements
from runtime.docker.ports import DEFAULT_PORTS, PortAllocator
from runtime.docker.redact import Redactor
from runtime.docker.rollout import Converger

log = logging.getLogger(__name__)

# A restore ignores the promotion's deadline; it gets this much time per replica on top of
# the replica's grace period and stop timeout, plus a minute.
RESTORE_SLACK = 10.0


class DockerRuntime(Runtime):
    """Runs releases as containers of a local Docker Engine (``LEDGER_RUNTIME=docker``)."""

    name = "docker"
    keeps_containers = True  # containers outlive ledgerd: reconcile them at start
    runs_commands = True

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client_factory: ClientFactory | None = None,
        stop_timeout: int = 10,
        ports: range = DEFAULT_PORTS,
        init: bool = True,
    ) -> None:
        """Nothing connects until the first call that needs the engine.

        ``base_url``: the engine's address (None: the SDK's default socket).
        ``client_factory``: builds the ``docker.APIClient`` instead (tests, TLS setups).
        ``stop_timeout``: seconds a replaced container gets to exit after SIGTERM before
        the engine kills it. ``ports``: the host ports handed out as ``$PORT``.
        ``init``: run an init process as PID 1 in each container (``docker run --init``),
        so SIGTERM reaches the app and stops are quick.
        """
        self.engine = Engine(base_url, client_factory=client_factory)
        self.stop_timeout = stop_timeout
        self.containers = Containers(
            self.engine, PortAllocator(ports), init=init, stop_timeout=stop_timeout
        )
        self.converger = Converger(self.containers, HealthWaiter(self.containers))
        self.oneoff = OneOffRunner(self.containers)
        self.placements = Placements(self.containers)
        self.outages = Outages(self.engine)

    def resolve_image(self, reference: str) -> str:
        return resolve_image(self.engine, reference)

    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        """Build (or resolve) every service's image; an engine that cannot be reached fails
        the build too, since its id is already recorded."""
        try:
            return build_images(self.engine, request, log)
        except Unavailable as error:
            log.write(f"{error}\n")
            raise BuildFailed(str(error)) from None

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Converge to ``plan.target``; no env value of the plan's releases appears in a
        step or the cause (see ``redact``)."""
        secrets = Redactor(plan.target, plan.previous)
        return secrets.cause(self._roll_out(plan, secrets.progress(progress)))

    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Converge back to ``plan.previous``, ignoring the promotion's deadline and
        cancellation (a budget derived from the release's grace periods bounds it); no env
        value of the plan's releases appears in a step or the cause."""
        secrets = Redactor(plan.target, plan.previous)
        return secrets.cause(self._restore(plan, secrets.progress(progress)))

    def _roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        limits = Limits(
            deadline=plan_deadline(plan),
            cancelled=progress.cancelled,
            deadline_text=f"the promotion's deadline ({plan.deadline_seconds} s)",
        )
        return self.outages.ride_out(
            lambda: self.converger.converge(plan.target, plan.promotion_id, progress, limits),
            limits,
            progress,
        )

    def _restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        previous = plan.previous
        if previous is None:
            budget = self._restore_budget(plan.target.manifest)
            limits = Limits(
                deadline=time.monotonic() + budget,
                cancelled=lambda: False,
                deadline_text=f"the time allowed to remove the app's containers ({budget:.0f} s)",
            )

            def remove_all() -> Cause | None:
                self.converger.remove_others(plan.app, None, progress)
                return None

            return self.outages.ride_out(remove_all, limits, progress)
        budget = self._restore_budget(previous.manifest)
        limits = Limits(
            deadline=time.monotonic() + budget,
            cancelled=lambda: False,
            deadline_text=f"the time allowed to restore v{previous.version} ({budget:.0f} s)",
        )
        return self.outages.ride_out(
            lambda: self.converger.converge(previous, plan.promotion_id, progress, limits),
            limits,
            progress,
        )

    def run_command(
        self, request: CommandRequest, output: CommandOutput, cancelled: Callable[[], bool]
    ) -> int:
        """Run the command in a new container of its own (see ``oneoff``); ``Unavailable``
        if the engine cannot be reached."""
        try:
            return self.oneoff.run(request, output, cancelled)
        except ENGINE_ERRORS as error:
            raise Unavailable(self.engine.unreachable(error)) from error

    def tasks(self, app: str) -> list[TaskPlacement]:
        """The app's replica containers, running or ended (see ``placement``);
        ``Unavailable`` if the engine cannot be reached."""
        try:
            return self.placements.of_app(app)
        except ENGINE_ERRORS as error:
            raise Unavailable(self.engine.unreachable(error)) from error

    def stop_app(self, app: str) -> None:
        """Remove every container of ``app``, as reconcile does for an app with no active
        release: its replicas (stopped gracefully) and its one-off commands' (killed,
        which ends those commands with exit code 137)."""
        self.reconcile({app: None})

    def reconcile(self, running: Mapping[str, ReleaseSpec | None]) -> None:
        """Remove each listed app's containers that are not of its active release (all of
        them when it has none), and its one-off commands' containers: at start this
        process runs none, so they are left by a ``ledgerd`` that died during a run. Apps
        not listed are left alone. ``Unavailable`` if the engine cannot be reached."""
        try:
            self._reconcile(running)
        except ENGINE_ERRORS as error:
            raise Unavailable(self.engine.unreachable(error)) from error

    def _reconcile(self, running: Mapping[str, ReleaseSpec | None]) -> None:
        for app, release in running.items():
            keep = release.release_id if release is not None else None
            for container in self.containers.of_app(app):
                if container.release == keep:
                    if container.running:  # one started before restart policies were set
                        self.containers.keep_running(container)
                    continue
                log.info("reconcile: removing %s (%s)", container.name, container.state)
                if container.running:
                    self.containers.stop(container)
                else:
                    self.containers.remove(container)
            for container in self.containers.runs_of_app(app):
                log.info("reconcile: removing one-off %s (%s)", container.name, container.state)
                self.containers.remove(container)

    def close(self) -> None:
        self.engine.close()

    def _restore_budget(self, manifest: Manifest) -> float:
        per_replica = [
            s.scale * (s.health.grace + self.stop_timeout + RESTORE_SLACK)
            for s in manifest.services
        ]
        return 60.0 + sum(per_replica)


def plan_deadline(plan: RolloutPlan) -> float:
    """The plan's deadline as a ``time.monotonic()`` value (no deadline when it is 0)."""
    if plan.deadline_seconds <= 0:
        return math.inf
    started = plan.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    ends = started + timedelta(seconds=plan.deadline_seconds)
    return time.monotonic() + (ends - datetime.now(UTC)).total_seconds()
