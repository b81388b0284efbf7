"""The database loses commits it had acknowledged, and the projection worker resumes from
what the views' tracking row says, exactly once.

PostgreSQL run with ``synchronous_commit=off`` (as the tests' and the benchmark's servers
are) forgets its last acknowledged transactions when it crashes; a failover to a lagging
replica does the same. Here that is made deterministic on a server of the test's own:
the database is copied, more is committed (and fed to the worker), then the server is
restarted and the database put back as it was in the copy. The writes that follow are
made by a second ledger application, as a ledgerd restarted elsewhere would make them,
and take the positions the lost events had.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from eventsourcing.persistence import PersistenceError
from psycopg import sql

from ledger.commands import UpdateEnv
from projections import LedgerViews, ProjectionWorker, postgres_env, rebuild
from tests.integration.projections.conftest import ALICE, Ledger
from tests.support.docker import skip_or_fail
from tests.support.postgres import MISSING_BINARIES_MESSAGE, PostgresServer, find_pg_bin

pytestmark = pytest.mark.postgres

DATABASE = "ledger"
KEPT = "ledger_kept"


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone (the test restarts it)."""
    if find_pg_bin() is None:
        skip_or_fail(MISSING_BINARIES_MESSAGE)
    with PostgresServer() as server:
        yield server


@pytest.fixture
def env(server: PostgresServer) -> dict[str, str]:
    url = server.create_database(DATABASE)
    return postgres_env(url) | {"POSTGRES_POOL_SIZE": "2", "IS_SNAPSHOTTING_ENABLED": "y"}


@pytest.fixture
def ledger(env: dict[str, str]) -> Iterator[Ledger]:
    ledger = Ledger(env)
    yield ledger
    ledger.close()


@pytest.fixture
def elsewhere(env: dict[str, str]) -> Iterator[Callable[[], Ledger]]:
    """Opens a second ledger application on the same database (after the crash)."""
    opened: list[Ledger] = []

    def open_ledger() -> Ledger:
        opened.append(Ledger(env))
        return opened[-1]

    yield open_ledger
    for other in opened:
        other.close()


@pytest.fixture
def worker(ledger: Ledger, views: LedgerViews) -> Iterator[ProjectionWorker]:
    worker = ProjectionWorker(ledger.app, views, poll_interval=0.02)
    ledger.app.recorded.append(worker.feed)
    yield worker
    worker.stop()


@pytest.fixture
def views(ledger: Ledger) -> LedgerViews:
    return ledger.open_views()


def _admin(server: PostgresServer) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(server.url(), autocommit=True)


def _close_to_clients(connection: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    identifier = sql.Identifier(name)
    connection.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(identifier))
    connection.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
    )


def keep_copy(server: PostgresServer) -> None:
    """Copy the database as it is now (its clients are disconnected, as by an outage)."""
    with _admin(server) as admin:
        _close_to_clients(admin, DATABASE)
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(KEPT), sql.Identifier(DATABASE)
            )
        )
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(sql.Identifier(DATABASE))
        )


def crash_losing_commits_since_the_copy(server: PostgresServer) -> None:
    """Restart the server and put the database back as it was copied: what was committed
    since is lost, as a crash with ``synchronous_commit=off`` loses it."""
    server.pause()
    server.resume()
    with _admin(server) as admin:
        _close_to_clients(admin, DATABASE)
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(DATABASE), sql.Identifier(KEPT)
            )
        )


def catch_up_once_reachable(worker: ProjectionWorker, timeout: float = 20.0) -> None:
    """Catch up, retrying while the clients' pools reconnect to the restarted server."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            worker.catch_up()
            return
        except PersistenceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def equals_a_rebuild(ledger: Ledger, views: LedgerViews) -> bool:
    live = views.dump()
    rebuild(ledger.app, views)
    return views.dump() == live


def test_events_fed_from_commits_the_database_lost_are_never_projected(
    server: PostgresServer,
    ledger: Ledger,
    elsewhere: Callable[[], Ledger],
    views: LedgerViews,
    worker: ProjectionWorker,
) -> None:
    ledger.create_app("web")
    worker.catch_up()
    keep_copy(server)
    ledger.service.update_env(UpdateEnv(app="web", set_values={"A": "1"}), ALICE)
    crash_losing_commits_since_the_copy(server)
    # Written after the crash: an app takes the lost event's position, and the next env
    # change of web has the lost one's env version.
    other = elsewhere()
    other.create_app("api")
    other.service.update_env(UpdateEnv(app="web", set_values={"B": "2"}), ALICE)

    catch_up_once_reachable(worker)

    assert views.position() == other.app.head()
    assert equals_a_rebuild(ledger, views)


def test_after_a_crash_that_lost_projected_batches_the_worker_resumes_from_the_tracking_row(
    server: PostgresServer,
    ledger: Ledger,
    elsewhere: Callable[[], Ledger],
    views: LedgerViews,
    worker: ProjectionWorker,
) -> None:
    ledger.create_app("web")
    worker.catch_up()
    kept = views.position()
    keep_copy(server)
    ledger.service.update_env(UpdateEnv(app="web", set_values={"A": "1"}), ALICE)
    worker.catch_up()
    worker.start()

    crash_losing_commits_since_the_copy(server)

    deadline = time.monotonic() + 20
    while worker.position != kept and time.monotonic() < deadline:
        time.sleep(0.02)
    assert worker.position == kept
    rewritten = elsewhere().service.update_env(UpdateEnv(app="web", set_values={"B": "2"}), ALICE)
    assert views.wait_for(rewritten.position, timeout=20)
    worker.stop()
    assert equals_a_rebuild(ledger, views)
