"""PostgreSQL outages: bounded waits, a clear refusal, and a prompt return.

The library, left alone, makes a command wait far past any client's patience when the
database goes away, and come back slowly when it returns:

- each recorder method retries ``OperationalError`` 10 times, and each attempt waits for a
  pooled connection up to the pool's timeout;
- the pool reconnects with an exponential backoff (1, 2, 4, 8 … s), so a database that
  was down 40 s may be tried again only 30 s after it is back.

:class:`LedgerPostgresFactory` (the ``PERSISTENCE_MODULE`` of the ledger and its views on
PostgreSQL) changes three things, and nothing else of the library:

- **Bounded waits.** A connection is waited for at most what is left of the command's
  budget (:mod:`ledger.budget`; outside a command, ``LEDGER_DATABASE_TIMEOUT``), and at
  most :data:`OUTAGE_WAIT` while the database is known to be unreachable. No connection in
  time raises :class:`DatabaseUnreachable`, which the library's retries do not catch.
- **Prompt reconnection.** While a connection is missing, the pool tries again every
  :data:`RECONNECT_DELAY` at most, so the first command after the database returns finds
  a connection (or waits well under a second for one).
- **Stale connections dropped at once.** A connection found dead in use (the server
  restarted) makes the pool check all its idle ones in the background: the library's
  retry then gets a live one instead of the next dead one. (Checking every connection
  at checkout, the library's ``POSTGRES_PRE_PING``, would cost a round trip per
  statement, and psycopg_pool sleeps 1 s, then 2 s … between failed checks.)

Libpq's own timeouts are set too: ``connect_timeout`` (a host that drops packets), and
TCP keepalives with ``tcp_user_timeout`` (a peer that vanished mid-statement).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError
from eventsourcing.postgres import ConnectionPool, PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg_pool import PoolTimeout
from psycopg_pool.pool import AddConnection, MaintenanceTask

from ledger import budget

log = logging.getLogger("ledgerd.database")

TIMEOUT_KEY = "DATABASE_TIMEOUT"  # in the library's env: LEDGER_DATABASE_TIMEOUT's value
DEFAULT_TIMEOUT = 5.0
OUTAGE_WAIT = 0.5  # longest wait for a connection while the database is known unreachable
RECONNECT_DELAY = 0.25  # longest pause between two attempts to connect
UNREACHABLE = "the ledger's database is unreachable"
FACTORY_TOPIC = "server.infra.outage:LedgerPostgresFactory"


class DatabaseUnreachable(PersistenceError, TimeoutError):
    """No connection to the database within the time allowed.

    Not an ``OperationalError``: the library's retry decorators let it through at once.
    A ``TimeoutError``: the entry points answer it as UNAVAILABLE.
    """


class _BudgetSpent(PoolTimeout):
    """The request's time ran out before it asked for a connection: says nothing of the
    database (it may be busy elsewhere in the request)."""


class Outage:
    """Whether the database is known to be unreachable, and since when; logs each outage
    once when it begins and once when it ends (never the error's text: it may name the
    connection's parameters)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None
        self._lock = threading.Lock()

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def began(self, waited: float) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
        log.warning(
            "%s: %s (no connection within %.1f s): requests that need it are refused as "
            "UNAVAILABLE until it is back; reconnecting every %.2f s",
            self.what, UNREACHABLE, waited, RECONNECT_DELAY,
        )  # fmt: skip

    def ended(self) -> None:
        if self.since is None:  # the common case, without the lock
            return
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            log.warning("%s: the database is reachable again after %.1f s", self.what,
                        time.monotonic() - since)  # fmt: skip


_OUTAGES: dict[tuple[str, str, str], Outage] = {}
_OUTAGES_LOCK = threading.Lock()


def _outage_of(datastore: PostgresDatastore) -> Outage:
    """One :class:`Outage` per database in the process: the pools of the events and of
    the views reach the same server, so what one finds out spares the other the wait."""
    kwargs: Any = datastore.pool.kwargs
    key = (str(kwargs.get("host")), str(kwargs.get("port")), str(kwargs.get("dbname")))
    with _OUTAGES_LOCK:
        found = _OUTAGES.get(key)
        if found is None:
            found = _OUTAGES[key] = Outage(f"PostgreSQL at {key[0]}:{key[1]}")
        return found


class LedgerPool(ConnectionPool[Any]):
    """The library's pool, with waits bounded by the command's budget and reconnection
    attempts at most :data:`RECONNECT_DELAY` apart."""

    outage: Outage

    def getconn(self, timeout: float | None = None) -> Any:
        if timeout is None:
            timeout = budget.remaining(self.timeout)
            if self.outage.ongoing:
                timeout = min(timeout, OUTAGE_WAIT)
        if timeout <= 0:
            raise _BudgetSpent("the request's time for the database is spent")
        return super().getconn(timeout)

    def schedule_task(self, task: MaintenanceTask, delay: float) -> None:
        if isinstance(task, AddConnection):
            delay = min(delay, RECONNECT_DELAY)
        super().schedule_task(task, delay)


class LedgerDatastore(PostgresDatastore):
    """The library's datastore: a connection not had in time is :class:`DatabaseUnreachable`;
    a connection found dead has the pool's idle ones checked."""

    pool: LedgerPool
    outage: Outage
    _checking: threading.Lock

    @contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        connection: Connection[DictRow] | None = None
        started = time.monotonic()
        try:
            with super().get_connection() as connection:
                yield connection
        except (OperationalError, InterfaceError) as error:
            if connection is None and isinstance(error.__cause__, PoolTimeout):
                if not isinstance(error.__cause__, _BudgetSpent):
                    self.outage.began(time.monotonic() - started)
                raise DatabaseUnreachable(f"{UNREACHABLE}: try again") from error
            if connection is not None and connection.broken:
                self._check_idle_connections()
            raise
        self.outage.ended()

    def _check_idle_connections(self) -> None:
        """Let the pool drop its dead idle connections (in the background: a dead socket
        answers at once, but a vanished host only after ``tcp_user_timeout``)."""
        if not self._checking.acquire(blocking=False):
            return  # a check is running

        def check() -> None:
            try:
                self.pool.check()
            except Exception:  # the pool is closing: nothing to check
                log.debug("pool check failed", exc_info=True)
            finally:
                self._checking.release()

        threading.Thread(target=check, name="pg-pool-check", daemon=True).start()


class LedgerPostgresFactory(PostgresFactory):
    """The library's PostgreSQL factory with :class:`LedgerDatastore` and
    :class:`LedgerPool` (the library builds both inline, so they are adopted here, before
    the pool is opened; neither adds state the library's code would miss)."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        timeout = float(self.env.get(TIMEOUT_KEY) or DEFAULT_TIMEOUT)
        datastore = self.datastore
        datastore.__class__ = LedgerDatastore
        datastore.pool.__class__ = LedgerPool
        outage = _outage_of(datastore)
        cast_store: Any = datastore
        cast_store.outage = outage
        cast_store._checking = threading.Lock()
        pool: Any = datastore.pool
        pool.outage = outage
        pool.timeout = timeout
        seconds = max(2, math.ceil(timeout))  # libpq counts whole seconds, at least 2
        pool.kwargs.update(
            connect_timeout=seconds,
            keepalives=1,
            keepalives_idle=seconds,
            keepalives_interval=1,
            keepalives_count=3,
            tcp_user_timeout=int(timeout * 1000),
        )
        _quiet_reconnect_warnings()


class _ReconnectNoise(logging.Filter):
    """Drops psycopg_pool's warning per failed connection attempt (several a second during
    an outage); :class:`Outage` says it once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error connecting in")


_NOISE = _ReconnectNoise()


def _quiet_reconnect_warnings() -> None:
    logger = logging.getLogger("psycopg.pool")
    if _NOISE not in logger.filters:
        logger.addFilter(_NOISE)
