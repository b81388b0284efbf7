"""Converging an app's containers to one release: the heart of promotions and restores.

The engine is the only state: every convergence starts by listing the app's containers
by label, so it can be run again after a crash (``kill -9`` of ``ledgerd``) and picks up
where the engine is. For each service of the release, in manifest order:

1. the release's own containers that are not running (exited, dead, never started) are
   removed, those beyond ``scale`` are stopped, and the running ones are adopted: their
   health is checked again;
2. the missing replicas are started one at a time: start one, wait until it is healthy
   (then the engine is told to keep it running, see ``Containers.keep_running``), then
   stop one container of that service from another release, so capacity never drops
   below what ran before;
3. the other releases' containers of that service that are left are stopped.

When every service is done, every container of the app that does not belong to the
release is removed. On a failure nothing is cleaned up: the caller restores the
previous release with this same code, which then does the cleaning. An engine lost in
the middle raises the SDK's error; the adapter waits for the engine and runs the
convergence again (see ``outage``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from ledger.domain import Cause, CauseKind, StepKind
from ledger.manifest import Service
from ledger.runtime import Progress, ReleaseSpec
from runtime.docker.containers import Containers, StartFailed
from runtime.docker.health import HealthWaiter, Limits
from runtime.docker.labels import ContainerInfo, container_name

FAILURES = (CauseKind.PROCESS_FAILED, "health_check_failed")


class Converger:
    """Brings an app's containers to one release, one replacement at a time."""

    def __init__(self, containers: Containers, waiter: HealthWaiter) -> None:
        self.containers = containers
        self.waiter = waiter

    def converge(
        self, release: ReleaseSpec, promotion_id: str, progress: Progress, limits: Limits
    ) -> Cause | None:
        """Make ``release`` the app's running release; None on success, else why not."""
        missing = missing_env(release)
        if missing is not None:
            return missing
        for service in release.manifest.services:
            cause = self._service(release, service, promotion_id, progress, limits)
            if cause is not None:
                return cause
        self.remove_others(release.app, release.release_id, progress)
        return None

    def remove_others(self, app: str, keep: str | None, progress: Progress) -> None:
        """Remove every container of ``app`` not of release ``keep`` (all when None), and
        the release's own containers that no longer run."""
        for container in self.containers.of_app(app):
            if container.release == keep and container.running:
                continue
            if container.running:
                self._stop(container, progress)
            else:
                self._remove(container, progress)

    def _service(
        self,
        release: ReleaseSpec,
        service: Service,
        promotion_id: str,
        progress: Progress,
        limits: Limits,
    ) -> Cause | None:
        ours = [c for c in self.containers.of_app(release.app) if c.service == service.name]
        mine = [c for c in ours if c.release == release.release_id]
        for container in mine:
            if not container.running:
                self._remove(container, progress)
        current = [c for c in mine if c.running]
        for container in current[service.scale :]:
            self._stop(container, progress, "scaled down")
        current = current[: service.scale]
        for container in current:
            progress.step(
                StepKind.CONTAINER_ADOPTED, f"{container.title} adopted ({_where(container)})"
            )
            since = self._grace_start(container, service)
            cause = self._healthy(container, service, limits, since, progress)
            if cause is not None:
                return cause
        others = [c for c in ours if c.release != release.release_id and c.running]
        # A replaced container is stopped in the background while the next new one starts:
        # capacity never drops below scale, and a rollout does not wait for each stop.
        stops: list[Future[None]] = []
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="stop") as stopping:

            def stop(container: ContainerInfo) -> None:
                stops.append(stopping.submit(self._stop, container, progress))

            cause = self._replace(
                release, service, promotion_id, progress, limits, current, others, stop
            )
        for stopped in stops:
            stopped.result()  # an engine error while stopping surfaces as before
        return cause

    def _replace(
        self,
        release: ReleaseSpec,
        service: Service,
        promotion_id: str,
        progress: Progress,
        limits: Limits,
        current: list[ContainerInfo],
        others: list[ContainerInfo],
        stop: Callable[[ContainerInfo], None],
    ) -> Cause | None:
        taken = {c.index for c in current}
        free = (n for n in itertools.count(1) if n not in taken)
        for _ in range(service.scale - len(current)):
            interrupted = limits.interruption(service.name)
            if interrupted is not None:
                return interrupted
            index = next(free)
            try:
                container = self.containers.start(release, service, promotion_id, index)
            except StartFailed as error:
                name = container_name(release.app, service.name, release.release_id, index)
                title = f"{service.name}.{index} (v{release.version})"
                progress.step(StepKind.CONTAINER_FAILED, f"{title} could not start: {error}")
                return Cause(
                    CauseKind.PROCESS_FAILED,
                    f"{title} could not start: {error}",
                    service=service.name,
                    container=name,
                )
            started = time.monotonic()
            progress.step(
                StepKind.CONTAINER_STARTED, f"{container.title} started ({_where(container)})"
            )
            cause = self._healthy(container, service, limits, started, progress)
            if cause is not None:
                return cause
            if others:
                stop(others.pop(0))
        for container in others:
            stop(container)
        return None

    def _healthy(
        self,
        container: ContainerInfo,
        service: Service,
        limits: Limits,
        since: float,
        progress: Progress,
    ) -> Cause | None:
        began = time.monotonic()
        cause = self.waiter.wait(container, service, limits, since)
        if cause is None:
            self.containers.keep_running(container)
            took = time.monotonic() - began
            progress.step(
                StepKind.CONTAINER_HEALTHY,
                f"{container.title} healthy ({container.release_label}, after {took:.1f} s)",
            )
        elif cause.kind in FAILURES:
            reason = cause.message.removeprefix(f"{container.title} ({container.release_label}) ")
            progress.step(
                StepKind.CONTAINER_FAILED,
                f"{container.title} failed ({container.release_label}): {reason}",
            )
        return cause

    def _grace_start(self, container: ContainerInfo, service: Service) -> float:
        """When an adopted container's grace period began: an HTTP container gets a full grace
        again (a healthy one passes its first check at once); a container without a port
        counts from when it started, so one that has run long enough passes at once."""
        now = time.monotonic()
        if service.http:
            return now
        started = self.containers.state(container).started_at
        if started is None:
            return now
        return now - max(0.0, (datetime.now(UTC) - started).total_seconds())

    def _stop(self, container: ContainerInfo, progress: Progress, why: str = "") -> None:
        self.containers.stop(container)
        detail = f", {why}" if why else ""
        progress.step(
            StepKind.CONTAINER_STOPPED,
            f"{container.title} stopped ({container.release_label}{detail})",
        )

    def _remove(self, container: ContainerInfo, progress: Progress) -> None:
        self.containers.remove(container)
        progress.step(
            StepKind.CONTAINER_REMOVED,
            f"{container.title} removed ({container.release_label}, {container.state})",
        )


def missing_env(release: ReleaseSpec) -> Cause | None:
    """A ``process_failed`` cause naming the keys (never values) a service requires and
    the release's env lacks; checked before anything is started."""
    for service in release.manifest.services:
        missing = service.missing_env(release.env)
        if missing:
            keys = "key" if len(missing) == 1 else "keys"
            return Cause(
                CauseKind.PROCESS_FAILED,
                f"service {service.name} requires environment {keys} {', '.join(missing)},"
                f" which release v{release.version} does not set",
                service=service.name,
            )
    return None


def _where(container: ContainerInfo) -> str:
    port = f", port {container.port}" if container.port is not None else ""
    return f"{container.release_label}{port}"
