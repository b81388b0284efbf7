"""The composition root: ONE :func:`bootstrap` builds the whole object graph.

Nothing here runs at import time and nothing connects before :func:`bootstrap` is
called. Persistence is chosen from :class:`~ledger.settings.Settings` and handed to
the libraries as explicit env mappings (the process environment is never consulted
here): SQLite files under ``data_dir`` by default, PostgreSQL when a database URL is
set. :meth:`Container.start` brings a ``ledgerd`` process up (projections running and
caught up, rack version recorded, promotions in flight resumed); :meth:`Container.close`
takes it down in the reverse order.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import IO

import psycopg
from eventsourcing.persistence import OperationalError

from ledger.application import LedgerApplication
from ledger.building import Builder, BuildService
from ledger.domain import Meta
from ledger.errors import Unavailable
from ledger.keys import KeyService
from ledger.promoter import LocalClaims, Promoter
from ledger.runtime import ReleaseSpec, Runtime
from ledger.service import LedgerService
from ledger.settings import Settings
from projections import ProjectionWorker, open_views
from projections.audit import ValueDigest
from projections.sql import SCHEMA_VERSION
from projections.store import LedgerViews
from runtime.record import RecordRuntime
from server.admin_token import create_first_admin_key
from server.audit_log import AuditLog
from server.broadcast import Broadcaster
from server.cipher import CIPHER_TOPIC, audit_digest_key, check_cipher_key, cipher_key
from server.claims import PostgresClaims
from server.signing import signing_key

log = logging.getLogger("ledgerd")

SYSTEM = Meta(actor="ledgerd")
POSTGRES_LOCK_TIMEOUT = "5"
POSTGRES_POOL_SIZE = "2"
POSTGRES_MAX_OVERFLOW = "8"
POSTGRES_CONNECT_TIMEOUT = "10"
STARTUP_CATCH_UP_TIMEOUT = 600.0
RECONCILE_PAGE = 500
# Session advisory lock held while a process creates its tables (any bigint; "ledger").
SCHEMA_LOCK_KEY = 0x6C6564676572
SCHEMA_LOCK_TIMEOUT = "60s"


def ledger_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing env of the ledger application (events and snapshots)."""
    env = {
        "IS_SNAPSHOTTING_ENABLED": "y",
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        "CIPHER_TOPIC": CIPHER_TOPIC,
        "CIPHER_KEY": cipher_key(settings),
    }
    env.update(_persistence(settings, "events.sqlite"))
    if settings.postgres is None:
        # One ledgerd owns a SQLite data dir (see data_dir_lock), so the aggregate cache
        # sees every write: it need not re-read the store on each get.
        env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
    return env


def views_env(settings: Settings) -> dict[str, str]:
    """The env of the projections: their own SQLite file, or the same PostgreSQL database."""
    return _persistence(settings, f"views-v{SCHEMA_VERSION}.sqlite")


def _persistence(settings: Settings, sqlite_file: str) -> dict[str, str]:
    target = settings.postgres
    if target is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.data_dir / sqlite_file),
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        "POSTGRES_LOCK_TIMEOUT": POSTGRES_LOCK_TIMEOUT,
        "POSTGRES_POOL_SIZE": POSTGRES_POOL_SIZE,
        "POSTGRES_MAX_OVERFLOW": POSTGRES_MAX_OVERFLOW,
        "POSTGRES_CONNECT_TIMEOUT": POSTGRES_CONNECT_TIMEOUT,
    }


class DataDirLock:
    """An exclusive lock on a SQLite data dir: one ``ledgerd`` (or rebuild) at a time.

    Several processes on one SQLite ledger would each keep projections and caches of
    their own; PostgreSQL is the way to serve one ledger from several processes.
    """

    def __init__(self, settings: Settings) -> None:
        self._file: IO[str] | None = None
        if settings.postgres is not None:
            return
        path = settings.data_dir / "ledgerd.lock"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise Unavailable(
                f"another ledgerd is using the data dir {settings.data_dir}: stop it first "
                "(use PostgreSQL to serve one ledger from several processes)"
            ) from None
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the lock
            self._file = None


@contextmanager
def creating_tables(settings: Settings) -> Iterator[None]:
    """Let one process at a time create its tables in a shared PostgreSQL database.

    The library creates tables (and composite types) with ``IF NOT EXISTS`` at
    construction, which is not safe concurrently: ``ledgerd`` processes started
    together fail with ``duplicate key value violates unique constraint
    "pg_type_typname_nsp_index"`` or ``tuple concurrently updated``. A session-level
    advisory lock on the database serialises the constructions; the later ones then
    find the tables made. Nothing to do for SQLite (one process per data dir).
    """
    target = settings.postgres
    if target is None:
        yield
        return
    try:
        connection = psycopg.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            dbname=target.dbname,
            connect_timeout=int(POSTGRES_CONNECT_TIMEOUT),
            autocommit=True,
        )
    except psycopg.Error as error:
        raise OperationalError(f"could not connect to create tables: {error}") from error
    with connection:  # the lock goes with the session when the connection closes
        try:
            connection.execute(f"SET lock_timeout = '{SCHEMA_LOCK_TIMEOUT}'")
            connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        except psycopg.Error as error:
            raise OperationalError(
                f"could not lock the schema to create tables: {error}"
            ) from error
        yield


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
    worker: ProjectionWorker
    broadcaster: Broadcaster
    lock: DataDirLock
    builder: Builder
    builds: BuildService
    keys: KeyService
    audit_log: AuditLog
    started: bool = field(default=False)

    @property
    def backend(self) -> str:
        return backend_name(self.settings)

    def start(self, version: str | None = None) -> None:
        """Run projections, record the rack version (and, on a new ledger, create the
        first admin key), resume promotions in flight."""
        self.worker.start()
        self.started = True
        outcome = self.service.record_rack_version(version or package_version(), SYSTEM)
        position = max(outcome.position, create_first_admin_key(self.keys, self.settings.data_dir))
        self.worker.notify()
        if not self.worker.wait_for(position, STARTUP_CATCH_UP_TIMEOUT):
            raise Unavailable("the projections did not catch up with the log in time")
        in_flight = [promotion.id for promotion in self.views.promotions_in_flight()]
        if in_flight:
            log.warning("resuming %d promotion(s) in flight", len(in_flight))
            self.promoter.resume(in_flight)
        # A build's `docker build` dies with the process that ran it: record it failed.
        self.builder.resume([build.id for build in self.views.builds_in_flight()])
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
        """Take over promotions in flight that no live process drives (several ledgerd)."""
        in_flight = [promotion.id for promotion in self.views.promotions_in_flight()]
        self.promoter.resume(in_flight)

    def close(self) -> None:
        """Stop builds and promotions, then projections, then close the stores (reverse order)."""
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


def bootstrap(settings: Settings) -> Container:
    """Build the object graph for ``settings``; nothing runs until ``start()``."""
    signer = signing_key(settings)
    lock = DataDirLock(settings)
    try:
        with creating_tables(settings):
            ledger = LedgerApplication(
                env=ledger_env(settings), snapshot_interval=settings.snapshot_interval
            )
            try:
                check_cipher_key(ledger)
                digest = ValueDigest(audit_digest_key(cipher_key(settings)))
                views = open_views(views_env(settings), value_digest=digest)
            except BaseException:
                ledger.close()
                raise
    except BaseException:
        lock.release()
        raise
    runtime = make_runtime(settings)
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
    broadcaster = Broadcaster()
    worker = ProjectionWorker(ledger, views, listeners=[broadcaster.publish])
    return Container(
        settings=settings,
        ledger=ledger,
        runtime=runtime,
        promoter=promoter,
        service=service,
        views=views,
        worker=worker,
        broadcaster=broadcaster,
        lock=lock,
        builder=builder,
        builds=builds,
        keys=KeyService(ledger, views),
        audit_log=AuditLog(views, ledger.recorder, signer, settings.log_origin),
    )
