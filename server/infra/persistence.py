"""Persistence of ``ledgerd``: the ``eventsourcing`` env of the events and of the
projections, chosen by the settings, and the locks that keep processes from tripping over
each other (one ``ledgerd`` per SQLite data dir; one table creation at a time on a shared
PostgreSQL database).

The process environment is never consulted here: the libraries get explicit env mappings.
"""

from __future__ import annotations

import fcntl
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from ledger.errors import Unavailable
from projections.sql import SCHEMA_VERSION
from server.infra.cipher import CIPHER_TOPIC, cipher_key
from server.infra.outage import FACTORY_TOPIC, TIMEOUT_KEY, UNREACHABLE, DatabaseUnreachable
from server.infra.settings import PostgresTarget, Settings

# What SQLite ("database or disk is full"), PostgreSQL (SQLSTATE 53100, "No space left on
# device") and the OS say when the disk is full.
DISK_FULL_SIGNS = ("disk is full", "no space left on device", "53100")


def disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) says the disk is full: a full disk is not an
    outage, and an operator must be told which it is."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = f"{current} {getattr(current, 'sqlstate', '') or ''}".lower()
        if any(sign in text for sign in DISK_FULL_SIGNS):
            return True
        current = current.__cause__ or current.__context__
    return False


def unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (down, restarting, too
    slow to answer, SQLite locked by another process), rather than refusing the request."""
    if isinstance(error, DatabaseUnreachable):
        return True
    return isinstance(error, OperationalError | InterfaceError) and not disk_full(error)


def failure_summary(error: BaseException) -> str | None:
    """One line naming a database failure an operator can act on (a full disk, an
    unreachable database), without the error's text; None for anything else."""
    if disk_full(error):
        return "the disk of the ledger's database is full"
    if unreachable(error):
        return UNREACHABLE
    return None


POSTGRES_POOL_SIZE = "2"
POSTGRES_MAX_OVERFLOW = "8"
POSTGRES_CONNECT_TIMEOUT = "10"  # creating tables at start-up
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
    env.update(events_env(settings))
    if settings.postgres is None:
        # One ledgerd owns a SQLite data dir (see data_dir_lock), so the aggregate cache
        # sees every write: it need not re-read the store on each get.
        env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
    return env


def events_env(settings: Settings) -> dict[str, str]:
    """Where the events are, alone (no cipher): for reading or writing stored records as
    they are, such as a backup does."""
    return _persistence(settings, "events.sqlite")


def views_env(settings: Settings) -> dict[str, str]:
    """The env of the projections: their own SQLite file, or the same PostgreSQL database."""
    return _persistence(settings, f"views-v{SCHEMA_VERSION}.sqlite")


def _persistence(settings: Settings, sqlite_file: str) -> dict[str, str]:
    """The library's env. Every wait for the database is bounded by
    ``settings.database_timeout``: SQLite's busy wait for a lock another process holds,
    PostgreSQL's wait for the events table's lock, and (through
    :mod:`server.infra.outage`) for a connection."""
    target = settings.postgres
    seconds = str(max(1, math.ceil(settings.database_timeout)))  # whole seconds here
    if target is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.data_dir / sqlite_file),
            "SQLITE_LOCK_TIMEOUT": seconds,
        }
    return {
        "PERSISTENCE_MODULE": FACTORY_TOPIC,
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        "POSTGRES_LOCK_TIMEOUT": seconds,
        "POSTGRES_POOL_SIZE": POSTGRES_POOL_SIZE,
        "POSTGRES_MAX_OVERFLOW": POSTGRES_MAX_OVERFLOW,
        "POSTGRES_CONNECT_TIMEOUT": seconds,
        TIMEOUT_KEY: str(settings.database_timeout),
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


def connect(
    target: PostgresTarget, timeout: int = int(POSTGRES_CONNECT_TIMEOUT)
) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection of its own (autocommit) to the ledger's PostgreSQL database, outside the
    library's pools: for session-level advisory locks and administrative statements."""
    return psycopg.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        dbname=target.dbname,
        connect_timeout=timeout,
        autocommit=True,
    )


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
        connection = connect(target)
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
