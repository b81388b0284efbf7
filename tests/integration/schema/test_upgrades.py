"""Upgrades and rollbacks of ledgerd on one log: this version (N) reads what a compatible
newer version (N+1) wrote and lists every version that ran, a return to N included; a log
that N cannot read makes N refuse to start with one line, changing nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.schema import LOG_SCHEMA
from server.bootstrap import package_version
from tests.integration.schema.newer import (
    create_app_with_a_new_field,
    record_an_event_of_a_new_type,
    start_version,
)
from tests.support.ledgerd import LedgerdProcess
from tests.support.postgres import PostgresServer, unique_database_name

THIS = package_version()
NEXT = "9.9.9-next"
LEDGERD = [sys.executable, "-c", "from server.main import main; main()"]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data dir this version has run on (and stopped)."""
    data = tmp_path / "data"
    first = LedgerdProcess({"LEDGER_DATA": str(data)}, cwd=tmp_path).start()
    assert first.stop() == 0, "".join(first.output)
    return data


def ledgerd(data: Path, *args: str, database_url: str = "") -> subprocess.CompletedProcess[str]:
    """This version's ``ledgerd`` on ``data``: to its end (a refusal) or 60 s."""
    env = {**os.environ, "LEDGER_DATA": str(data), "LEDGER_LISTEN": "127.0.0.1:0"}
    env.update(LEDGER_CONSOLE_LISTEN="off", LEDGER_DATABASE_URL=database_url)
    return subprocess.run(
        [*LEDGERD, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def ledgerctl(server: LedgerdProcess, *args: str) -> Any:
    return json.loads(ledgerctl_text(server, "--json", *args))


def ledgerctl_text(server: LedgerdProcess, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--host", server.address, *args],
        env={**os.environ, "LEDGER_TOKEN": server.token},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def test_ledgerd_says_which_log_schema_it_writes(tmp_path: Path) -> None:
    done = ledgerd(tmp_path / "data", "--version")

    assert done.stdout == f"ledgerd, version {THIS} (log schema {LOG_SCHEMA})\n"


def test_back_on_this_version_after_a_compatible_newer_one_every_version_that_ran_is_listed(
    data: Path,
) -> None:
    start_version(data, NEXT, LOG_SCHEMA)
    create_app_with_a_new_field(data, "next")

    server = LedgerdProcess({"LEDGER_DATA": str(data)}, cwd=data.parent).start()
    try:
        releases = ledgerctl(server, "rack", "releases")
        table = ledgerctl_text(server, "rack", "releases").splitlines()
        apps = ledgerctl(server, "apps")
    finally:
        assert server.stop() == 0, "".join(server.output)

    assert [r["version"] for r in releases] == [THIS, NEXT, THIS]
    assert [r["until"] for r in releases] == [None] + [r["started_at"] for r in releases[:-1]]
    assert table[0].split() == ["VERSION", "STARTED", "UNTIL", "POSITION"]
    assert [row.split()[0] for row in table[1:]] == [THIS, NEXT, THIS]
    assert table[1].split()[2] == "-"
    assert "next" in [app["name"] for app in apps]


def test_a_log_of_a_newer_schema_is_refused_with_one_line_and_left_as_it_was(data: Path) -> None:
    start_version(data, NEXT, LOG_SCHEMA + 1)
    record_an_event_of_a_new_type(data)
    before = files(data)

    done = ledgerd(data)

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"ledgerd: this log was written by ledgerd {NEXT} (log schema {LOG_SCHEMA + 1}); "
        f"ledgerd {THIS} reads log schema {LOG_SCHEMA} or older: upgrade ledgerd"
    ]
    assert files(data) == before


def test_a_projection_rebuild_refuses_a_log_of_a_newer_schema_too(data: Path) -> None:
    start_version(data, NEXT, LOG_SCHEMA + 1)
    before = files(data)

    done = ledgerd(data, "projections", "rebuild")

    assert done.returncode == 1
    assert "upgrade ledgerd" in done.stderr and len(done.stderr.splitlines()) == 1
    assert files(data) == before


def test_an_event_type_this_version_does_not_know_is_refused_with_one_line(data: Path) -> None:
    record_an_event_of_a_new_type(data)
    log = data / "events.sqlite"
    before = log.read_bytes()

    done = ledgerd(data)

    assert done.returncode == 1
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("ledgerd:")]
    assert line.startswith(
        f"ledgerd: this log holds events of a type ledgerd {THIS} does not know (ClusterJoined, "
        "from position "
    )
    assert line.endswith("a newer ledgerd wrote them: upgrade ledgerd")
    assert log.read_bytes() == before


@pytest.mark.postgres
def test_a_postgresql_log_of_a_newer_schema_is_refused_and_left_as_it_was(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database(unique_database_name("newer_schema"))
    data = tmp_path / "data"
    first = LedgerdProcess({"LEDGER_DATA": str(data), "LEDGER_DATABASE_URL": url}, tmp_path)
    assert first.start().stop() == 0, "".join(first.output)
    start_version(data, NEXT, LOG_SCHEMA + 1, database_url=url)
    before = database_dump(postgres_server, url)

    done = ledgerd(data, database_url=url)

    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "upgrade ledgerd" in done.stderr
    assert database_dump(postgres_server, url) == before


def database_dump(server: PostgresServer, url: str) -> str:
    """Every table's rows and every definition (less pg_dump's per-run restrict key)."""
    assert server.bin_dir is not None
    dumped = subprocess.run(
        [str(server.bin_dir / "pg_dump"), "--no-owner", "-d", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return "\n".join(line for line in dumped.splitlines() if "restrict " not in line)
