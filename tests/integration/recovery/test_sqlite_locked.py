"""SQLite's analogue of an outage: another process holds the events file's write lock.
A write waits at most the database timeout, then is refused as UNAVAILABLE (nothing is
written); reads go on; once the lock is released, writes go through again."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.infra.settings import Settings
from tests.support.ledgerd import InProcessLedgerd

BOUND = 1.0  # LEDGER_DATABASE_TIMEOUT for this test (whole seconds for SQLite)


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Hold ``path``'s write lock, as a backup or a ``sqlite3`` shell in a write
    transaction would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


@pytest.fixture
def ledgerd(tmp_path: Path) -> Iterator[InProcessLedgerd]:
    settings = Settings(data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="")
    with InProcessLedgerd(dataclasses.replace(settings, database_timeout=BOUND)) as server:
        yield server


def test_a_write_while_another_process_locks_sqlite_is_refused_within_the_bound(
    ledgerd: InProcessLedgerd,
) -> None:
    with ledgerd.channel() as channel:
        api = LedgerStub(channel)
        api.CreateApp(pb.CreateAppRequest(name="shop"))
        before = api.GetEnv(pb.GetEnvRequest(app="shop")).version

        with write_locked(ledgerd.settings.data_dir / "events.sqlite"):
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as refused:
                api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"K": "v"}), timeout=60)
            waited = time.monotonic() - started
            assert api.GetApp(pb.GetAppRequest(name="shop")).name == "shop"

        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "unreachable" in (refused.value.details() or "")
        assert waited < 2 * BOUND + 1
        assert api.GetEnv(pb.GetEnvRequest(app="shop")).version == before
        after = api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"K": "v"}))
        assert after.env_version == before + 1
