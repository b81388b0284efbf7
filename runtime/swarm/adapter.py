"""``SwarmRuntime``: the runtime port implemented on a Docker Swarm (``LEDGER_RUNTIME=swarm``).

One Swarm service per manifest service, named ``APP-SERVICE``; Swarm does the rolling
update (one task at a time, ``start-first``, health-checked) and the ledger watches it,
reports its steps, and owns the deadline, cancellation and the restore. The manager's
services and labels are the only state, so every operation may be re-run by a new
process after a crash. Builds are the Docker adapter's, on the engine ``ledgerd`` talks
to; the images reach the nodes through a :class:`~runtime.swarm.registry.Registry`
(on one node: the local image, by id).

Not built yet: one-off commands (``run_command`` keeps the port's refusal).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import docker
from docker.utils import version_gte

from ledger.domain import Cause, CauseKind, StepKind
from ledger.errors import Unavailable
from ledger.manifest import Manifest
from ledger.runtime import (
    BuildFailed,
    BuildLog,
    BuildRequest,
    BuiltImages,
    Progress,
    ReleaseSpec,
    RolloutPlan,
    Runtime,
    TaskPlacement,
)
from runtime.docker.adapter import RESTORE_SLACK, plan_deadline
from runtime.docker.engine import ENGINE_ERRORS, ClientFactory, Engine
from runtime.docker.health import Limits
from runtime.docker.images import build_images, resolve_image
from runtime.docker.redact import Redactor
from runtime.swarm.converge import Converger
from runtime.swarm.placement import placements
from runtime.swarm.ports import DEFAULT_BLOCKS, BlockAllocator, NoFreeBlock
from runtime.swarm.registry import LocalImages, Registry, RegistryImages
from runtime.swarm.services import Services
from runtime.swarm.spec import monitor_seconds, service_name

log = logging.getLogger(__name__)

_Work = Callable[[], Cause | None]

START_INTERVAL_API = "1.44"  # the first API version whose health checks take StartInterval


class SwarmRuntime(Runtime):
    """Runs releases as services of a Docker Swarm (``LEDGER_RUNTIME=swarm``)."""

    name = "swarm"
    keeps_containers = True  # services outlive ledgerd: reconcile them at start

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client_factory: ClientFactory | None = None,
        registry: str = "",
        stop_grace: float = 10.0,
        blocks: range = DEFAULT_BLOCKS,
    ) -> None:
        """Nothing connects until the first call that needs the engine.

        ``base_url``: a manager's engine (None: the SDK's default socket), which also
        builds. ``registry``: the ``host:port`` of a registry every node pulls from
        (``LEDGER_REGISTRY``; "": the local image, for a single node). ``stop_grace``:
        seconds a replaced task gets between SIGTERM and SIGKILL. ``blocks``: the port
        blocks handed out to HTTP services (see ``ports``).
        """
        self.engine = Engine(base_url, client_factory=client_factory)
        self.registry: Registry = (
            RegistryImages(self.engine, registry) if registry else LocalImages(self.engine)
        )
        self.stop_grace = stop_grace
        self.services = Services(self.engine)
        self._blocks = BlockAllocator(blocks)
        self._converger: Converger | None = None

    @property
    def converger(self) -> Converger:
        """Made on first use: whether health checks take ``StartInterval`` depends on the
        engine's API version."""
        if self._converger is None:
            version = str(self.engine.api.api_version)
            self._converger = Converger(
                self.services,
                self.registry,
                self._blocks,
                stop_grace=self.stop_grace,
                start_interval=version_gte(version, START_INTERVAL_API),
            )
        return self._converger

    def resolve_image(self, reference: str) -> str:
        return resolve_image(self.engine, reference)

    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        """Build with the Docker adapter's builder on the manager's engine, then hand the
        images to the registry (nothing to do on one node): the release records what the
        registry answers (a digest reference)."""
        try:
            built = build_images(self.engine, request, log)
            built = self.registry.push(request, built, log)
        except Unavailable as error:
            log.write(f"{error}\n")
            raise BuildFailed(str(error)) from None
        return built

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Converge the app's services to ``plan.target`` within the plan's deadline; no
        env value of the plan's releases appears in a step or the cause."""
        secrets = Redactor(plan.target, plan.previous)
        masked = secrets.progress(progress)
        limits = Limits(
            deadline=plan_deadline(plan),
            cancelled=masked.cancelled,
            deadline_text=f"the promotion's deadline ({plan.deadline_seconds} s)",
        )
        return secrets.cause(
            self._guarded(
                lambda: self.converger.converge(plan.target, plan.promotion_id, masked, limits)
            )
        )

    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Apply ``plan.previous``'s whole spec again (remove the app's services if there
        was none), ignoring the promotion's deadline and cancellation: a budget derived
        from the release's health checks and stop grace bounds it."""
        secrets = Redactor(plan.target, plan.previous)
        masked = secrets.progress(progress)
        previous = plan.previous
        if previous is None:
            return secrets.cause(self._guarded(lambda: self._remove_all(plan.app, masked)))
        budget = self._restore_budget(previous.manifest)
        limits = Limits(
            deadline=time.monotonic() + budget,
            cancelled=lambda: False,
            deadline_text=f"the time allowed to restore v{previous.version} ({budget:.0f} s)",
        )
        return secrets.cause(
            self._guarded(
                lambda: self.converger.converge(previous, plan.promotion_id, masked, limits)
            )
        )

    def tasks(self, app: str) -> list[TaskPlacement]:
        """Where the app's tasks run (see ``placement``); ``Unavailable`` if the manager
        cannot be reached or refuses."""
        try:
            return placements(self.services, app)
        except ENGINE_ERRORS as error:
            raise Unavailable(self._engine_error(error)) from error

    def stop_app(self, app: str) -> None:
        """Remove every service of ``app``."""
        self.reconcile({app: None})

    def reconcile(self, running: Mapping[str, ReleaseSpec | None]) -> None:
        """At start: each listed app's services run its active release's spec (applied
        again where another release's spec was left, not waited for); services the
        release lacks, or all of them when there is none, are removed. ``Unavailable`` if
        the engine cannot be reached or refuses."""
        try:
            for app, release in running.items():
                self._reconcile(app, release)
        except ENGINE_ERRORS as error:
            raise Unavailable(self._engine_error(error)) from error

    def _reconcile(self, app: str, release: ReleaseSpec | None) -> None:
        quiet = _Quiet()
        if release is None:
            self._remove_all(app, quiet)
            return
        keep = {service_name(app, s.name) for s in release.manifest.services}
        self.converger.remove_others(app, keep, quiet)
        for found in self.services.of_app(app):
            if found.release == release.release_id:
                continue
            log.info(
                "reconcile: %s runs another release, applying v%s", found.name, release.version
            )
            service = release.manifest.service(found.service)
            applied = self.converger.apply(release, service, found.promotion, quiet)
            if isinstance(applied, Cause):
                log.warning("reconcile: %s: %s", found.name, applied.message)

    def _remove_all(self, app: str, progress: Progress) -> None:
        self.converger.remove_others(app, set(), progress)

    def _guarded(self, work: _Work) -> Cause | None:
        try:
            return work()
        except ENGINE_ERRORS as error:
            return Cause(CauseKind.RUNTIME_ERROR, self._engine_error(error))
        except (Unavailable, NoFreeBlock) as error:
            return Cause(CauseKind.RUNTIME_ERROR, str(error))

    def _engine_error(self, error: BaseException) -> str:
        if isinstance(error, docker.errors.APIError):
            text = str(error.explanation or error).strip().splitlines()
            return f"the Docker engine refused: {text[0] if text else error}"[:500]
        return self.engine.unreachable(error)

    def _restore_budget(self, manifest: Manifest) -> float:
        per_service = [
            s.scale * (s.health.grace + self.stop_grace + RESTORE_SLACK) + monitor_seconds(s)
            for s in manifest.services
        ]
        return 60.0 + sum(per_service)

    def close(self) -> None:
        self.engine.close()


class _Quiet:
    """The Progress of work nobody follows (reconciling at start)."""

    def step(self, kind: StepKind, message: str) -> None:
        log.info("reconcile: %s", message)

    def cancelled(self) -> bool:
        return False
