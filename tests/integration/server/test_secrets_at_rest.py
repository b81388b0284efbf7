"""Environment values are encrypted in the event store: the raw database never holds one."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import psycopg
import pytest

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, UpdateEnv
from ledger.domain import Meta
from ledger.errors import InvalidArgument, Unavailable
from ledger.promoter import Promoter
from ledger.service import LedgerService
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from runtime.record import RecordRuntime
from server.bootstrap import bootstrap
from server.infra.persistence import ledger_env
from server.infra.settings import Settings
from tests.integration.server.helpers import create_app, deploy
from tests.support.ledgerd import InProcessLedgerd

SECRET = "s3cr3t-Value-0f-the-database-password"


def raw_sqlite_bytes(data_dir: Path) -> bytes:
    """Every byte of every file of the ledger (events, write-ahead logs, views)."""
    return b"".join(path.read_bytes() for path in sorted(data_dir.iterdir()) if path.is_file())


def raw_postgres_text(url: str) -> str:
    """Every row of every table of the ledger's database, as text (bytea as hex)."""
    with psycopg.connect(url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        dumped = []
        for schema, table in tables:
            rows = connection.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
            dumped.extend(row[0] for row in rows)
    return "\n".join(dumped)


def test_env_values_are_not_in_the_raw_database(ledgerd_settings: Settings) -> None:
    settings = dataclasses.replace(ledgerd_settings, snapshot_interval=2)  # snapshots too
    with InProcessLedgerd(settings) as server, server.channel() as channel:
        client = LedgerStub(channel)
        create_app(client, "shop")
        deploy(client, "shop", "shop:1")
        for n in range(5):
            client.UpdateEnv(
                pb.UpdateEnvRequest(app="shop", set={"DATABASE_PASSWORD": f"{SECRET}{n}"})
            )
        env = client.GetEnv(pb.GetEnvRequest(app="shop", reveal=True))
        assert env.values["DATABASE_PASSWORD"] == f"{SECRET}4"  # stored, and readable
    if settings.postgres is None:
        raw = raw_sqlite_bytes(settings.data_dir)
        assert b"DATABASE_PASSWORD" in raw  # keys stay visible in the views
        assert SECRET.encode() not in raw
    else:
        raw_text = raw_postgres_text(settings.database_url)
        assert "DATABASE_PASSWORD" in raw_text
        assert SECRET not in raw_text and SECRET.encode().hex() not in raw_text


def test_a_ledger_written_before_encryption_still_reads(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )
    plain_env = {
        k: v for k, v in ledger_env(settings).items() if k not in ("CIPHER_TOPIC", "CIPHER_KEY")
    }
    plain = LedgerApplication(env=plain_env)
    runtime = RecordRuntime()
    service = LedgerService(plain, runtime, Promoter(plain, runtime, max_workers=0))
    service.create_app(CreateApp("shop"), Meta("alice"))
    service.update_env(UpdateEnv("shop", set_values={"OLD": "plain"}), Meta("alice"))
    plain.close()

    container = bootstrap(settings)
    try:
        container.service.update_env(UpdateEnv("shop", set_values={"NEW": "sealed"}), Meta("bob"))
        assert container.ledger.app("shop").env == {"OLD": "plain", "NEW": "sealed"}
    finally:
        container.close()


def test_ledgerd_refuses_a_key_that_does_not_decrypt_its_ledger(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )
    container = bootstrap(settings)
    container.service.create_app(CreateApp("shop"), Meta("alice"))
    container.close()
    other_key = "b3RoZXIta2V5LW9mLWFub3RoZXItbGVkZ2VyLSEhISE="

    with pytest.raises(Unavailable, match="cipher key does not decrypt"):
        bootstrap(dataclasses.replace(settings, cipher_key=other_key))


def test_the_key_file_is_created_once_and_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )
    bootstrap(settings).close()
    key_file = settings.data_dir / "cipher.key"
    first = key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    bootstrap(settings).close()

    assert key_file.read_text() == first


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )
    bootstrap(settings).close()
    (settings.data_dir / "cipher.key").chmod(0o644)

    with pytest.raises(InvalidArgument, match="owner only"):
        bootstrap(settings)
