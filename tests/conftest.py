"""Shared fixtures. Each group of fixtures sits under its own `# --- Name ---` header."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import grpc
import hypothesis
import pytest

from ledger_api.v1 import ledger_pb2_grpc
from server.infra.settings import Settings
from tests.support.ledgerd import InProcessLedgerd, LedgerdProcess
from tests.support.postgres import (
    MISSING_BINARIES_MESSAGE,
    PostgresServer,
    find_pg_bin,
    unique_database_name,
)

# --- Hypothesis ---
# Property tests assert behaviour, never speed: Hypothesis's default deadline (200 ms per
# example) is a timed assertion that fails on a busy machine, so it is off.
hypothesis.settings.register_profile("ledger", deadline=None)
hypothesis.settings.load_profile("ledger")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --- PostgreSQL ---


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole test run (skipped if not installed; in CI,
    a missing server is a failure)."""
    if find_pg_bin() is None:
        if _in_ci():
            pytest.fail(MISSING_BINARIES_MESSAGE, pytrace=False)
        pytest.skip(MISSING_BINARIES_MESSAGE)
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """URL of a fresh, empty database of its own for this test."""
    return postgres_server.create_database(unique_database_name(request.node.name))


# --- ledgerd ---


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledgerd_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings of a fresh ledger on a free port: SQLite files in tmp_path, or a fresh
    PostgreSQL database (each test using it runs once per backend)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else ""
    return Settings(
        data_dir=tmp_path / "ledger",
        database_url=url,
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
    )


@pytest.fixture
def ledgerd(ledgerd_settings: Settings) -> Iterator[InProcessLedgerd]:
    """A real ledgerd serving gRPC in-process (own thread and event loop); `.address`,
    `.container` for white-box checks."""
    with InProcessLedgerd(ledgerd_settings) as server:
        yield server


@pytest.fixture
def ledgerd_channel(ledgerd: InProcessLedgerd) -> Iterator[grpc.Channel]:
    """A channel to the `ledgerd` fixture whose calls sign in with its admin key."""
    with ledgerd.channel() as channel:
        yield channel


@pytest.fixture
def ledgerd_client(ledgerd_channel: grpc.Channel) -> ledger_pb2_grpc.LedgerStub:
    """A sync `ledger.v1.Ledger` stub talking to the `ledgerd` fixture over TCP (as admin)."""
    return ledger_pb2_grpc.LedgerStub(ledgerd_channel)


@pytest.fixture
def ledgerd_process(tmp_path: Path) -> Iterator[Callable[..., LedgerdProcess]]:
    """Start real `ledgerd` subprocesses: `ledgerd_process({"LEDGER_DATA": ...})` returns a
    started LedgerdProcess (`.address`, `.output`, `.stop()`); all are stopped at the end."""
    started: list[LedgerdProcess] = []

    def start(env: Mapping[str, str] | None = None) -> LedgerdProcess:
        settings = {"LEDGER_DATA": str(tmp_path / "ledger"), **(env or {})}
        process = LedgerdProcess(settings, cwd=tmp_path).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
