"""Backups of PostgreSQL ledgers: restored into a fresh database, and across backends.

PostgreSQL may skip log positions (a failed insert consumes its sequence numbers); a
restore keeps every position exactly, on either backend, and the next write goes on
after the last one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.backup.support import (
    backup,
    keep_secrets,
    ledger_env,
    restore,
    schema_objects,
    views_dump,
)
from tests.integration.recovery.support import connected, events
from tests.integration.server.helpers import create_app, deploy
from tests.support.ledgerd import LedgerdProcess
from tests.support.postgres import PostgresServer, unique_database_name
from transparency import generate_key

pytestmark = pytest.mark.postgres


def fresh_database(server: PostgresServer) -> str:
    return server.create_database(unique_database_name("restored"))


def skip_a_position(database_url: str) -> None:
    """Make PostgreSQL consume a log position with an insert that fails, as a conflicting
    write does."""
    with psycopg.connect(database_url) as connection, pytest.raises(psycopg.IntegrityError):
        connection.execute(
            "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state FROM ledger_events LIMIT 1"
        )


def fill(process: LedgerdProcess, database_url: str) -> None:
    with connected(process) as client:
        create_app(client, "web")
        deploy(client, "web", "web:1")
        skip_a_position(database_url)
        client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"DATABASE_URL": "postgres://db"}))
        deploy(client, "web", "web:2")


def test_a_postgresql_backup_restores_into_a_fresh_database_with_its_positions_and_views(
    tmp_path: Path,
    postgres_url: str,
    postgres_server: PostgresServer,
    ledgerd_process: Callable[..., LedgerdProcess],
) -> None:
    source = ledger_env(tmp_path / "source", postgres_url)
    server = ledgerd_process(source)
    fill(server, postgres_url)
    with connected(server) as client:
        source_log = events(client)
    backup(source, tmp_path / "ledger.backup")
    server.stop()
    restored_url = fresh_database(postgres_server)
    target = ledger_env(tmp_path / "target", restored_url)
    keep_secrets(tmp_path / "source", tmp_path / "target")

    code, output = restore(target, tmp_path / "ledger.backup")

    assert code == 0, output
    assert views_dump(tmp_path / "target", restored_url) == views_dump(
        tmp_path / "source", postgres_url
    )
    with connected(ledgerd_process(target)) as client:
        assert events(client) == source_log
        client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"AFTER": "restore"}))
        assert events(client)[-1].position > source_log[-1].position


def test_a_postgresql_backup_restores_into_sqlite_and_back_keeping_every_position(
    tmp_path: Path,
    postgres_url: str,
    postgres_server: PostgresServer,
    ledgerd_process: Callable[..., LedgerdProcess],
) -> None:
    source = ledger_env(tmp_path / "source", postgres_url)
    server = ledgerd_process(source)
    fill(server, postgres_url)
    with connected(server) as client:
        source_log = events(client)
    backup(source, tmp_path / "postgres.backup")
    server.stop()
    positions = [event.position for event in source_log]
    assert positions != list(range(positions[0], positions[0] + len(positions)))  # a gap

    sqlite = ledger_env(tmp_path / "sqlite")
    keep_secrets(tmp_path / "source", tmp_path / "sqlite")
    assert restore(sqlite, tmp_path / "postgres.backup")[0] == 0
    with connected(ledgerd_process(sqlite)) as client:
        assert events(client) == source_log
        client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"ON": "sqlite"}))
        sqlite_log = events(client)
    backup(sqlite, tmp_path / "sqlite.backup")
    back_url = fresh_database(postgres_server)
    back = ledger_env(tmp_path / "back", back_url)
    keep_secrets(tmp_path / "source", tmp_path / "back")

    code, output = restore(back, tmp_path / "sqlite.backup")

    assert code == 0, output
    with connected(ledgerd_process(back)) as client:
        assert events(client) == sqlite_log


def test_a_refused_restore_leaves_the_database_empty(
    tmp_path: Path,
    postgres_url: str,
    postgres_server: PostgresServer,
    ledgerd_process: Callable[..., LedgerdProcess],
) -> None:
    source = ledger_env(tmp_path / "source", postgres_url)
    fill(ledgerd_process(source), postgres_url)
    backup(source, tmp_path / "ledger.backup")
    restored_url = fresh_database(postgres_server)
    target = ledger_env(tmp_path / "target", restored_url)
    keep_secrets(tmp_path / "source", tmp_path / "target")
    other = generate_key("deploy-ledger").public_key().to_text()
    lines = (tmp_path / "ledger.backup").read_bytes()
    (tmp_path / "cut.backup").write_bytes(lines[: len(lines) - 100])

    wrong_key = restore(target, tmp_path / "ledger.backup", "--key", other)
    truncated = restore(target, tmp_path / "cut.backup")

    assert wrong_key[0] == truncated[0] == 1
    assert "does not verify with the key" in wrong_key[1]
    assert "is truncated" in truncated[1]
    assert schema_objects(restored_url) == []


def test_a_database_that_holds_a_ledger_is_refused_and_left_alone(
    tmp_path: Path, postgres_url: str, ledgerd_process: Callable[..., LedgerdProcess]
) -> None:
    source = ledger_env(tmp_path / "source", postgres_url)
    server = ledgerd_process(source)
    fill(server, postgres_url)
    backup(source, tmp_path / "ledger.backup")
    with connected(server) as client:
        before = events(client)

    code, output = restore(source, tmp_path / "ledger.backup")

    assert code == 1
    assert output.strip().endswith("restore into an empty database")
    assert len(output.splitlines()) == 1
    with connected(server) as client:
        assert events(client) == before
