"""What the backup scenarios share: ledgers to back up, the commands, and what to compare."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import grpc
import psycopg

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from projections import open_views
from server.infra.persistence import views_env
from server.infra.settings import Settings
from tests.integration.recovery.support import run_ledgerd
from tests.support.auth import channel_to

SECRETS = ("cipher.key", "signing.key", "admin.token")  # what the operator keeps
CALL_TIMEOUT = 10.0


def ledger_env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    """The ``LEDGER_*`` variables of a ledger in ``data_dir`` (or a PostgreSQL database,
    with its key files in ``data_dir``)."""
    return {"LEDGER_DATA": str(data_dir), "LEDGER_DATABASE_URL": database_url}


def keep_secrets(source: Path, target: Path) -> None:
    """What an operator keeps beside the backup: the keys (and the admin token)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in SECRETS:
        if (source / name).exists():
            shutil.copy2(source / name, target / name)


def backup(env: dict[str, str], out: Path) -> str:
    """``ledgerd backup --out``; its stdout (the test fails if it fails)."""
    result = run_ledgerd(env, "backup", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return result.stdout


def restore(env: dict[str, str], path: Path, *args: str) -> tuple[int, str]:
    """``ledgerd restore FILE``: (exit status, stdout or the stderr line that refused)."""
    result = run_ledgerd(env, "restore", str(path), *args)
    return result.returncode, (result.stdout if result.returncode == 0 else result.stderr)


def views_dump(data_dir: Path, database_url: str = "") -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view of a stopped ledger."""
    views = open_views(views_env(Settings(data_dir=data_dir, database_url=database_url)))
    try:
        return views.dump()
    finally:
        views.close()


def schema_objects(database_url: str) -> list[str]:
    """The tables, sequences, types and functions of the database's public schema."""
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "UNION ALL SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace "
            "UNION ALL SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
        ).fetchall()
    return sorted(row[0] for row in rows)


def files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


class Writers:
    """Threads sending ``UpdateEnv`` calls, each setting a key of its own, until told to
    stop; ``acknowledged`` holds each key (and value) whose call was answered."""

    def __init__(self, address: str, token: str, app: str, count: int = 3) -> None:
        self.address, self.token, self.app = address, token, app
        self.acknowledged: dict[str, str] = {}
        self.failures: list[grpc.StatusCode] = []
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._threads = [threading.Thread(target=self._write, args=(n,)) for n in range(count)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def snapshot(self) -> dict[str, str]:
        with self._changed:
            return dict(self.acknowledged)

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        with self._changed:
            assert self._changed.wait_for(
                lambda: len(self.acknowledged) >= count or bool(self.failures), timeout
            ), f"only {len(self.acknowledged)} writes acknowledged"
            assert not self.failures, f"writes failed: {self.failures}"

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(CALL_TIMEOUT * 2)
        assert not self.failures, f"writes failed: {self.failures}"

    def _write(self, writer: int) -> None:
        with channel_to(self.address, self.token) as channel:
            client = LedgerStub(channel)
            n = 0
            while not self._stop.is_set():
                key, value = f"W{writer}_K{n}", f"value-{writer}-{n}"
                try:
                    client.UpdateEnv(
                        pb.UpdateEnvRequest(app=self.app, set={key: value}), timeout=CALL_TIMEOUT
                    )
                except grpc.RpcError as error:
                    with self._changed:
                        self.failures.append(error.code())
                        self._changed.notify_all()
                    return
                with self._changed:
                    self.acknowledged[key] = value
                    self._changed.notify_all()
                n += 1
