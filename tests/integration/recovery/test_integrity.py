"""The store scrubs itself: a damaged record is found, named, and stops writes, not reads.

Real ``ledgerd`` processes on a SQLite data dir (one scenario on PostgreSQL), whose event
store is damaged behind their back as a disk or an intruder would: a flipped byte in a
stored state, a deleted row, a changed topic.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.recovery.support import connected, eventually, run_ledgerd
from tests.integration.server.helpers import build, create_app, rpc_error
from tests.support.ledgerd import LedgerdProcess

StartLedgerd = Callable[..., LedgerdProcess]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
INTEGRITY = "ledger.v1.Integrity"
QUIET = {"LEDGER_SCRUB_AT_START": "0", "LEDGER_SCRUB_RATE": "0"}  # no scrub of its own


def health(process: LedgerdProcess, service: str) -> int:
    with process.channel() as channel:
        request = health_pb2.HealthCheckRequest(service=service)
        return int(health_pb2_grpc.HealthStub(channel).Check(request).status)


def some_history(process: LedgerdProcess) -> None:
    with connected(process) as client:
        create_app(client, "shop")
        build(client, "shop", "shop:1")
        # A secret value: leaves that digest it must be computed under the ledger's mask.
        client.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"TOKEN": "s3cret"}))
        build(client, "shop", "shop:2")


def events_file(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "events.sqlite", isolation_level=None)


def first_release_position(data_dir: Path) -> int:
    with events_file(data_dir) as db:
        row = db.execute(
            "SELECT MIN(rowid) FROM stored_events WHERE topic LIKE '%ReleaseCreated'"
        ).fetchone()
    return int(row[0])


def flip_a_byte(data_dir: Path, position: int) -> None:
    with events_file(data_dir) as db:
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE rowid = ?", (position,)
        ).fetchone()
        damaged = bytearray(state)
        damaged[len(damaged) // 2] ^= 0x01
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(damaged), position))


def scrub(process: LedgerdProcess, *args: str) -> tuple[int, str]:
    env = {"LEDGER_DATA": str(process.data_dir), **_database(process)}
    done = run_ledgerd(env, "audit", "scrub", *args)
    return done.returncode, done.stdout + done.stderr


def _database(process: LedgerdProcess) -> dict[str, str]:
    url = process.env.get("LEDGER_DATABASE_URL", "")
    return {"LEDGER_DATABASE_URL": url} if url else {}


def checkpoint_size(process: LedgerdProcess) -> int:
    with connected(process) as client:
        return int(client.GetCheckpoint(pb.GetCheckpointRequest()).size)


def a_write_is_refused(client: LedgerStub) -> grpc.RpcError:
    return rpc_error(lambda: client.CreateApp(pb.CreateAppRequest(name="another")))


def test_a_clean_ledger_scrubs_ok_while_ledgerd_serves(ledgerd_process: StartLedgerd) -> None:
    process = ledgerd_process()
    some_history(process)
    size = checkpoint_size(process)

    code, output = scrub(process)

    assert code == 0, output
    assert f"OK: {size} events match the tree of size {size}" in output
    assert health(process, INTEGRITY) == SERVING


def test_a_flipped_byte_is_found_at_start_and_stops_writes_but_not_reads(
    ledgerd_process: StartLedgerd, tmp_path: Path
) -> None:
    process = ledgerd_process()
    some_history(process)
    process.stop()
    damaged = first_release_position(process.data_dir)
    flip_a_byte(process.data_dir, damaged)

    restarted = ledgerd_process()

    assert health(restarted, INTEGRITY) == NOT_SERVING
    assert health(restarted, "") == SERVING
    assert health(restarted, "ledger.v1.Ledger") == SERVING
    with connected(restarted) as client:
        refused = a_write_is_refused(client)
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert f"position {damaged}" in str(refused.details())
        assert "restore the ledger from a backup" in str(refused.details())
        assert [r.image for r in client.ListReleases(pb.ListReleasesRequest(app="shop")).releases]
        assert client.GetApp(pb.GetAppRequest(name="shop")).name == "shop"
    errors = [line for line in restarted.output if " ERROR " in line]
    assert len(errors) == 1 and f"position {damaged}" in errors[0], restarted.output
    code, output = scrub(restarted)
    assert code == 1
    assert f"MISMATCH at position {damaged}: the record no longer decodes" in output


def test_a_deleted_record_is_named(ledgerd_process: StartLedgerd) -> None:
    process = ledgerd_process()
    some_history(process)
    process.stop()
    deleted = first_release_position(process.data_dir)
    with events_file(process.data_dir) as db:
        db.execute("DELETE FROM stored_events WHERE rowid = ?", (deleted,))

    code, output = scrub(process)

    assert code == 1
    assert f"MISMATCH at position {deleted}: the tree has a leaf here but the store" in output


def test_the_finding_survives_a_restart_and_a_passing_full_scrub_clears_it(
    ledgerd_process: StartLedgerd,
) -> None:
    process = ledgerd_process()
    some_history(process)
    size = checkpoint_size(process)
    process.stop()
    damaged = first_release_position(process.data_dir)
    flip_a_byte(process.data_dir, damaged)
    assert scrub(process)[0] == 1
    flip_a_byte(process.data_dir, damaged)  # the record restored (from a backup, say)

    restarted = ledgerd_process(QUIET)  # no scrub of its own: only the kept finding

    assert health(restarted, INTEGRITY) == NOT_SERVING
    with connected(restarted) as client:
        assert a_write_is_refused(client).code() == grpc.StatusCode.FAILED_PRECONDITION
    assert checkpoint_size(restarted) == size  # not even its start wrote an event
    assert scrub(restarted, "--last", "3")[0] == 0  # a partial scrub clears nothing
    assert health(restarted, INTEGRITY) == NOT_SERVING
    code, output = scrub(restarted)
    assert code == 0 and f"cleared the finding at position {damaged}" in output
    eventually(
        lambda: True if health(restarted, INTEGRITY) == SERVING else None,
        "ledgerd sees the finding cleared",
    )
    with connected(restarted) as client:
        assert client.CreateApp(pb.CreateAppRequest(name="another")).name == "another"


def test_the_background_scrub_finds_a_record_changed_while_ledgerd_serves(
    ledgerd_process: StartLedgerd,
) -> None:
    process = ledgerd_process()
    some_history(process)
    damaged = first_release_position(process.data_dir)

    flip_a_byte(process.data_dir, damaged)

    eventually(
        lambda: True if health(process, INTEGRITY) == NOT_SERVING else None,
        "the background scrub finds the damaged record",
    )
    with connected(process) as client:
        assert f"position {damaged}" in str(a_write_is_refused(client).details())


@pytest.mark.postgres
def test_a_changed_record_on_postgresql_is_found(
    ledgerd_process: StartLedgerd, postgres_url: str, tmp_path: Path
) -> None:
    env = {"LEDGER_DATABASE_URL": postgres_url, "LEDGER_DATA": str(tmp_path / "pg")}
    process = ledgerd_process(env)
    some_history(process)
    process.stop()
    with psycopg.connect(postgres_url, autocommit=True) as db:
        (changed,) = db.execute(
            "SELECT MIN(notification_id) FROM ledger_events WHERE topic LIKE '%ReleaseCreated'"
        ).fetchone()
        db.execute(
            "UPDATE ledger_events SET topic = 'ledger:BuildCreated' WHERE notification_id = %s",
            (changed,),
        )

    code, output = scrub(process)
    restarted = ledgerd_process(env)

    assert code == 1
    assert f"MISMATCH at position {changed}: its hash differs from the tree's leaf" in output
    assert health(restarted, INTEGRITY) == NOT_SERVING
    with connected(restarted) as client:
        refused = a_write_is_refused(client)
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert f"position {changed}" in str(refused.details())
