"""The composition root: ONE :func:`bootstrap` builds the whole object graph.

Nothing here runs at import time and nothing connects before :func:`bootstrap` is
called. Persistence is chosen from :class:`~server.infra.settings.Settings` and handed to
the libraries as explicit env mappings (the process environment is never consulted
here): SQLite files under ``data_dir`` by default, PostgreSQL when a database URL is
set. :meth:`Container.start` brings a ``ledgerd`` process up (projections running and
caught up, rack version recorded, promotions in flight resumed); :meth:`Container.close`
takes it down in the reverse order.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from importlib import metadata

from ledger.application import LedgerApplication
from ledger.building import Builder, BuildService
from ledger.domain import Meta
from ledger.domain.secrecy import Mask
from ledger.errors import IntegrityCompromised, Unavailable
from ledger.keys import KeyService
from ledger.notifications.service import NotificationService
from ledger.oneoff import CommandService
from ledger.promoter import LocalClaims, Promoter
from ledger.queries import Queries
from ledger.runtime import ReleaseSpec, Runtime
from ledger.service import LedgerService
from ledger.workflows.polling import Poller
from ledger.workflows.runner import JobRunner
from ledger.workflows.service import WorkflowService
from ledger.workflows.steps import JobSteps
from projections import ProjectionWorker, open_views
from projections.hot import HotViews
from projections.store import LedgerViews
from runtime.git import GitFetcher
from runtime.record import RecordRuntime
from server.infra.admin_token import create_first_admin_key
from server.infra.audit_log import AuditLog
from server.infra.broadcast import Broadcaster
from server.infra.cipher import audit_digest_key, check_cipher_key, cipher_key
from server.infra.claims import PostgresClaims
from server.infra.log_upgrade import record_leaf_format
from server.infra.persistence import (
    DataDirLock,
    creating_tables,
    failure_summary,
    ledger_env,
    views_env,
)
from server.infra.schema_check import check_event_types, check_log_schema
from server.infra.settings import Settings
from server.infra.signing import signing_key
from server.metrics.lag import first_after
from server.metrics.registry import Metrics
from server.metrics.status import Sources
from server.notify.worker import Notifier

log = logging.getLogger("ledgerd")

SYSTEM = Meta(actor="ledgerd")
STARTUP_CATCH_UP_TIMEOUT = 600.0
RECONCILE_PAGE = 500


def backend_name(settings: Settings) -> str:
    return "sqlite" if settings.postgres is None else "postgresql"


def package_version() -> str:
    try:
        return metadata.version("deploy-ledger")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def make_runtime(settings: Settings) -> Runtime:
    if settings.runtime == "record":
        return RecordRuntime()
    if settings.runtime == "docker":
        # Imported here so that the record runtime never needs the docker SDK loaded.
        from runtime.docker import DockerRuntime

        return DockerRuntime(base_url=settings.docker_host or None)
    if settings.runtime == "swarm":
        # The engine of a Swarm manager: it builds, and it runs the services.
        from runtime.swarm import SwarmRuntime

        return SwarmRuntime(base_url=settings.docker_host or None, registry=settings.registry)
    raise Unavailable(f"runtime {settings.runtime} is not available in this build")


@dataclass
class Container:
    """Everything one ``ledgerd`` process holds, built once by :func:`bootstrap`."""

    settings: Settings
    ledger: LedgerApplication
    runtime: Runtime
    promoter: Promoter
    service: LedgerService
    views: LedgerViews
    hot: HotViews
    worker: ProjectionWorker
    broadcaster: Broadcaster
    lock: DataDirLock
    builder: Builder
    builds: BuildService
    keys: KeyService
    queries: Queries
    audit_log: AuditLog
    workflows: WorkflowService
    jobs: JobRunner
    commands: CommandService
    poller: Poller
    metrics: Metrics
    notifications: NotificationService
    notifier: Notifier
    started: bool = field(default=False)

    @property
    def backend(self) -> str:
        return backend_name(self.settings)

    def start(self, version: str | None = None) -> None:
        """Run projections, record the rack version (and, on a new ledger, create the
        first admin key), resume promotions in flight."""
        check_event_types(self.ledger, self.views.position(), version or package_version())
        self.worker.start()
        self.started = True
        try:
            recorded = self.service.record_rack_version(version or package_version(), SYSTEM)
            position = recorded.position
        except IntegrityCompromised as error:  # serve reads; the finding says what to do
            log.warning("the version of this ledgerd is not recorded: %s", error)
            position = self.ledger.head()
        position = max(position, create_first_admin_key(self.keys, self.settings.data_dir))
        self.worker.notify()
        if not self.worker.wait_for(position, STARTUP_CATCH_UP_TIMEOUT):
            raise Unavailable("the projections did not catch up with the log in time")
        in_flight = [promotion.id for promotion in self.views.promotions_in_flight()]
        if in_flight:
            log.warning("resuming %d promotion(s) in flight", len(in_flight))
            self.promoter.resume(in_flight)
        # A build's `docker build` dies with the process that ran it: record it failed.
        self.builder.resume([build.id for build in self.views.builds_in_flight()])
        self.jobs.resume([job.id for job in self.views.jobs_in_flight()])
        self.poller.start()
        self.notifier.start()
        if self.runtime.keeps_containers:
            try:
                self.runtime.reconcile(self._idle_apps())
            except Unavailable as error:  # serve the ledger anyway; promotions will say why
                log.warning("could not reconcile the runtime's containers: %s", error)

    def _idle_apps(self) -> dict[str, ReleaseSpec | None]:
        """Every app with no promotion in flight, and the release it should be running."""
        idle: dict[str, ReleaseSpec | None] = {}
        after = ""
        while page := self.views.list_apps(after, RECONCILE_PAGE):
            for app in page:
                if not app.promotion_id:
                    active = app.active_release_id
                    idle[app.name] = self.promoter.spec(app.name, active) if active else None
            after = page[-1].name
        return idle

    def rescan(self) -> None:
        """Take over promotions and jobs in flight that no live process drives (several
        ledgerd): those another live process holds the claim of are left to it."""
        in_flight = [promotion.id for promotion in self.views.promotions_in_flight()]
        self.promoter.resume(in_flight)
        self.jobs.resume([job.id for job in self.views.jobs_in_flight()])

    def close(self) -> None:
        """Stop notifications, jobs, builds and promotions, then projections, then close
        the stores."""
        self.notifier.close()
        self.poller.close()
        self.jobs.close()
        self.builder.close()
        self.promoter.close()
        if self.started:
            self.worker.stop()
        _close_views(self.views)
        self.ledger.close()
        self.lock.release()


def _close_views(views: LedgerViews) -> None:
    datastore = getattr(views, "datastore", None)
    close = getattr(views, "close", None) or getattr(datastore, "close", None)
    if close is not None:
        close()


def bootstrap(settings: Settings, runtime: Runtime | None = None) -> Container:
    """Build the object graph for ``settings``; nothing runs until ``start()``.

    ``runtime``: the runtime adapter to use instead of the one the settings name (the
    fixture ledger's generator scripts one that fails on purpose)."""
    signer = signing_key(settings)
    lock = DataDirLock(settings)
    try:
        with creating_tables(settings):
            ledger = LedgerApplication(
                env=ledger_env(settings),
                snapshot_interval=settings.snapshot_interval,
                command_timeout=settings.database_timeout,
            )
            try:
                check_cipher_key(ledger)
                check_log_schema(ledger, package_version())  # before anything is written
                record_leaf_format(ledger, settings.log_origin)  # before any tree is signed
                mask = Mask(audit_digest_key(cipher_key(settings)))
                views = open_views(views_env(settings), mask=mask)
            except BaseException:
                ledger.close()
                raise
    except BaseException:
        lock.release()
        raise
    runtime = runtime or make_runtime(settings)
    target = settings.postgres
    claims = PostgresClaims(target) if target is not None else LocalClaims()
    promoter = Promoter(ledger, runtime, claims=claims)
    service = LedgerService(
        ledger, runtime, promoter, default_deadline=settings.promotion_deadline_seconds
    )
    builder = Builder(
        ledger, runtime, settings.data_dir / "sources", settings.build_workers, claims=claims
    )
    builds = BuildService(ledger, builder, max_source_bytes=settings.max_source_bytes)
    commands = CommandService(ledger, runtime)
    steps = JobSteps(ledger, service, builder, GitFetcher(), commands, threading.Event())
    jobs = JobRunner(ledger, steps, claims=claims)
    workflows = WorkflowService(ledger, steps.fetcher, jobs)
    broadcaster = Broadcaster()
    queries = Queries(views, ledger, runtime)
    # Kept current by the projection writer: told of each batch before its position is.
    hot = HotViews(views, queries.app_summary, settings.hot_apps)
    views.observers.append(hot)
    worker = ProjectionWorker(
        ledger, views, listeners=[hot.on_events, broadcaster.publish], explain=failure_summary
    )
    ledger.recorded.append(worker.feed)
    hot.follow(worker)
    notifications = NotificationService(ledger, views)
    notifier = Notifier(
        views,
        views,
        views,
        notifications,
        claims,
        give_up_seconds=settings.notify_give_up_seconds,
        user_agent=f"deploy-ledger/{package_version()} (notifications)",
    )
    worker.position_listeners.append(notifier.wakeup.saw)
    return Container(
        settings=settings,
        ledger=ledger,
        runtime=runtime,
        promoter=promoter,
        service=service,
        views=views,
        hot=hot,
        worker=worker,
        broadcaster=broadcaster,
        lock=lock,
        builder=builder,
        builds=builds,
        keys=KeyService(ledger, views),
        queries=queries,
        audit_log=AuditLog(views, ledger.recorder, signer, settings.log_origin, ledger.mapper),
        workflows=workflows,
        jobs=jobs,
        commands=commands,
        poller=Poller(workflows, views, explain=failure_summary),
        metrics=make_metrics(settings, ledger, views, broadcaster),
        notifications=notifications,
        notifier=notifier,
    )


def make_metrics(
    settings: Settings, ledger: LedgerApplication, views: LedgerViews, broadcaster: Broadcaster
) -> Metrics:
    """The registry /metrics shows; the integrity checks join it once serving."""
    info = {
        "version": package_version(),
        "backend": backend_name(settings),
        "runtime": settings.runtime,
    }
    sources = Sources(
        head=ledger.head,
        projected=views.position,
        streams=broadcaster.open_streams,
        info=info,
        first_after=first_after(ledger),
    )
    return Metrics(views, sources)
