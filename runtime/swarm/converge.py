"""Converging an app's Swarm services to one release: the heart of promotions and restores.

For each service of the release, in manifest order: read the service ``APP-SERVICE``
(the manager is the only state), build the release's whole spec for it (the image as the
registry names it, the port block: the one this release's spec already holds if any,
else a free one), apply it unless the service already has exactly that spec, and watch
Swarm's rolling update to its end (``watch``). Then the app's services that the release
does not have are removed. Run again after a crash, a convergence finds the spec already
applied and only watches; a restore applies the previous release's spec, which gets its
old port block back from the service's previous spec, so its tasks that still run are
kept as they are.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import datetime

from ledger.domain import Cause, CauseKind, StepKind
from ledger.errors import NotFound
from ledger.manifest import Service
from ledger.runtime import Progress, ReleaseSpec
from runtime.docker.health import Limits
from runtime.docker.labels import VERSION
from runtime.docker.rollout import missing_env
from runtime.swarm.ports import BLOCK_SIZE, BlockAllocator
from runtime.swarm.records import ServiceInfo
from runtime.swarm.registry import Registry
from runtime.swarm.services import Services, SpecRefused
from runtime.swarm.spec import ServiceSpec, service_name, service_spec
from runtime.swarm.watch import POLL, Watcher

log = logging.getLogger(__name__)

REMOVAL_SLACK = 30.0  # seconds a removed service's tasks get to end, beyond the stop grace


class Applied:
    """A spec given to (or found on) a service, and where to watch from."""

    def __init__(self, service: ServiceInfo, since: datetime | None, adopting: bool) -> None:
        self.service = service
        self.since = since
        self.adopting = adopting


class Converger:
    """Brings an app's services to one release."""

    def __init__(
        self,
        services: Services,
        registry: Registry,
        blocks: BlockAllocator,
        *,
        stop_grace: float,
        start_interval: bool,
    ) -> None:
        self.services = services
        self.registry = registry
        self.blocks = blocks
        self.stop_grace = stop_grace
        self.start_interval = start_interval
        self.watcher = Watcher(services)

    def converge(
        self, release: ReleaseSpec, promotion_id: str, progress: Progress, limits: Limits
    ) -> Cause | None:
        """Make ``release`` what the app's services run; None on success, else why not."""
        missing = missing_env(release)
        if missing is not None:
            return missing
        for service in release.manifest.services:
            applied = self.apply(release, service, promotion_id, progress)
            if isinstance(applied, Cause):
                return applied
            cause = self.watcher.watch(
                release,
                service,
                applied.service,
                applied.since,
                applied.adopting,
                progress,
                limits,
            )
            if cause is not None:
                return cause
        keep = {service_name(release.app, s.name) for s in release.manifest.services}
        self.remove_others(release.app, keep, progress)
        return None

    def apply(
        self, release: ReleaseSpec, service: Service, promotion_id: str, progress: Progress
    ) -> Applied | Cause:
        """Give the service ``APP-SERVICE`` the release's spec (create it if need be)."""
        name = service_name(release.app, service.name)
        title = f"{service.name} (v{release.version})"
        current = self.services.get(name)
        if current is not None and (current.app, current.service) != (release.app, service.name):
            return Cause(
                CauseKind.RUNTIME_ERROR,
                f"the Swarm service {name} is not service {service.name} of app {release.app}"
                " (another app's service, or not the ledger's): rename one of them",
                service=service.name,
            )
        try:
            image = self.registry.reference(release.image_of(service.name))
        except NotFound as error:
            progress.step(StepKind.CONTAINER_FAILED, f"{title} could not start: {error}")
            return Cause(
                CauseKind.PROCESS_FAILED, f"{title} could not start: {error}", service=service.name
            )
        with self._block(current, release, service) as block:
            spec = self._spec(release, service, image, block, promotion_id)
            if current is not None and current.fingerprint == spec.fingerprint:
                return Applied(current, current.update_started or current.created, True)
            try:
                self.services.apply(spec, current)
                progress.step(StepKind.SERVICE_UPDATED, _applied(spec, current, image))
            except SpecRefused as error:
                progress.step(StepKind.CONTAINER_FAILED, f"{title} could not start: {error}")
                return Cause(
                    CauseKind.PROCESS_FAILED,
                    f"{title} could not start: {error}",
                    service=service.name,
                )
        applied = self.services.get(name)
        if applied is None:
            return Cause(
                CauseKind.RUNTIME_ERROR,
                f"service {name} was removed as v{release.version} was applied",
                service=service.name,
            )
        return Applied(applied, current.updated if current is not None else None, False)

    def _spec(
        self,
        release: ReleaseSpec,
        service: Service,
        image: str,
        block: int | None,
        promotion_id: str,
    ) -> ServiceSpec:
        return service_spec(
            release,
            service,
            image=image,
            block=block,
            promotion_id=promotion_id,
            stop_grace=self.stop_grace,
            start_interval=self.start_interval,
        )

    @contextlib.contextmanager
    def _block(
        self, current: ServiceInfo | None, release: ReleaseSpec, service: Service
    ) -> Iterator[int | None]:
        """The port block of the release's spec: none without a port; the block this
        release's spec holds (the service's spec or its previous spec); else a free one,
        reserved until the spec is applied."""
        if not service.http:
            yield None
            return
        if current is not None:
            if current.release == release.release_id and current.base is not None:
                yield current.base // BLOCK_SIZE
                return
            previous = current.previous_base
            ours = current.previous_release == release.release_id
            if ours and previous is not None and previous != current.base:
                yield previous // BLOCK_SIZE
                return
        with self.blocks.reserve(self.services.used_blocks, service.scale) as block:
            yield block

    def remove_others(self, app: str, keep: set[str], progress: Progress) -> None:
        """Remove every service of ``app`` not named in ``keep`` (all when empty)."""
        for service in self.services.of_app(app):
            if service.name not in keep:
                self.remove(service, progress)

    def remove(self, service: ServiceInfo, progress: Progress) -> None:
        """Remove a service and wait (boundedly) until its tasks have ended and this
        engine runs none of their containers."""
        up = [t for t in self.services.tasks(service) if t.active]
        self.services.remove(service)
        ends = time.monotonic() + self.stop_grace + REMOVAL_SLACK
        while time.monotonic() < ends:
            tasks_up = any(t.active for t in self.services.tasks(service))
            if not tasks_up and not self.services.containers_up(service):
                break
            time.sleep(POLL)
        else:
            log.warning("the tasks of removed service %s have not all ended", service.name)
        label = f"v{service.version}" if service.version else service.release
        progress.step(
            StepKind.CONTAINER_REMOVED,
            f"service {service.service or service.name} removed ({label}, {len(up)} tasks)",
        )


def _applied(spec: ServiceSpec, current: ServiceInfo | None, image: str) -> str:
    """The step of a spec applied: what runs now, and how Swarm rolls it out."""
    update = spec.update_config
    verb = "created" if current is None else "updated"
    replicas = (spec.mode.get("replicated") or {}).get("Replicas", 0)  # the SDK's key
    return (
        f"service {spec.name} {verb}: v{spec.labels[VERSION]}, {replicas} replicas of {image},"
        f" {update['Parallelism']} at a time, {update['Order']},"
        f" monitor {update['Monitor'] / 1e9:g} s"
    )
