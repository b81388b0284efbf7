"""``ledgerd backup`` of a ledger while ``ledgerd`` serves writes, restored and served.

Writers keep changing an app's env through the gRPC API; the backup is taken meanwhile
by the real ``ledgerd backup`` (a second process beside the serving one), restored by
``ledgerd restore`` into an empty data dir holding only the kept keys (and, on
PostgreSQL, a fresh database), and served again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.backup.support import (
    Writers,
    backup,
    keep_secrets,
    ledger_env,
    restore,
    views_dump,
)
from tests.integration.cli.runner import Ledgerctl
from tests.integration.recovery.support import connected, events, run_ledgerd
from tests.integration.server.helpers import create_app, deploy
from tests.support.ledgerd import LedgerdProcess
from tests.support.postgres import unique_database_name

ACKNOWLEDGED_BEFORE_THE_BACKUP = 30


def public_key(env: dict[str, str]) -> str:
    result = run_ledgerd(env, "audit", "public-key")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_backup_taken_while_writes_go_on_restores_every_write_acknowledged_before_it(
    backend: str,
    tmp_path: Path,
    ledgerd_process: Callable[..., LedgerdProcess],
    request: pytest.FixtureRequest,
) -> None:
    source_url = target_url = ""
    if backend == "postgres":
        postgres = request.getfixturevalue("postgres_server")
        source_url = postgres.create_database(unique_database_name("source"))
        target_url = postgres.create_database(unique_database_name("target"))
    source = ledger_env(tmp_path / "source", source_url)
    server = ledgerd_process(source)
    with connected(server) as client:
        create_app(client, "web")
        deploy(client, "web", "web:1")
    writers = Writers(server.address, server.token, "web")
    writers.start()
    try:
        writers.wait_for(ACKNOWLEDGED_BEFORE_THE_BACKUP)
        acknowledged = writers.snapshot()
        backup(source, tmp_path / "ledger.backup")
        writers.wait_for(len(writers.snapshot()) + 10)  # still writing after the backup
    finally:
        writers.stop()
    target = ledger_env(tmp_path / "restored", target_url)
    keep_secrets(tmp_path / "source", tmp_path / "restored")

    code, output = restore(target, tmp_path / "ledger.backup")

    assert code == 0, output
    restored = ledgerd_process(target)
    with connected(restored) as client:
        env = client.GetEnv(pb.GetEnvRequest(app="web", reveal=True))
        restored_log = events(client)
    with connected(server) as client:
        source_log = events(client)
    # Every write acknowledged before the backup began is there; the restored log is
    # exactly the start of the source's log, which went on after the backup.
    assert {key: env.values.get(key) for key in acknowledged} == acknowledged
    assert restored_log == source_log[: len(restored_log)]
    assert len(source_log) > len(restored_log)
    # An auditor's live check of the restored ledgerd passes with the ledger's key.
    ledgerctl = Ledgerctl(restored.address, restored.token)
    verified = ledgerctl(
        "audit", "verify", "--server", "--key", public_key(source),
        "--state-dir", str(tmp_path / "auditor"),
    )  # fmt: skip
    assert verified.code == 0, verified.stderr


def test_a_ledger_at_rest_restores_to_the_same_views_row_for_row_and_takes_new_writes(
    tmp_path: Path, ledgerd_process: Callable[..., LedgerdProcess]
) -> None:
    source = ledger_env(tmp_path / "source")
    server = ledgerd_process(source)
    with connected(server) as client:
        create_app(client, "web")
        deploy(client, "web", "web:1")
        client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"DATABASE_URL": "postgres://db"}))
    backup(source, tmp_path / "ledger.backup")
    server.stop()
    target = ledger_env(tmp_path / "restored")
    keep_secrets(tmp_path / "source", tmp_path / "restored")

    code, output = restore(target, tmp_path / "ledger.backup")

    assert code == 0, output
    assert views_dump(tmp_path / "restored") == views_dump(tmp_path / "source")
    with connected(ledgerd_process(target)) as client:
        head = events(client)[-1].position
        client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"AFTER": "restore"}))
        added = [event.position for event in events(client) if event.position > head]
    assert added[0] == head + 1  # the log goes on right after the restored events
