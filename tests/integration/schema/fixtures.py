"""The fixture ledgers under ``tests/fixtures/ledger-<version>/`` (written by
``scripts/make_fixture_ledger.py``), copied where a test may open and change them."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from tests.support.postgres import PostgresServer, unique_database_name

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SECRET_FILES = ("cipher.key", "signing.key", "admin.token")


def fixture_ledgers() -> list[Path]:
    """Every fixture ledger, oldest version first."""
    found = [path for path in FIXTURES.glob("ledger-*") if (path / "answers.json").exists()]
    return sorted(found, key=lambda path: _version(path.name.removeprefix("ledger-")))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in text.split("."))


def expected_answers(fixture: Path) -> dict[str, Any]:
    answers: dict[str, Any] = json.loads((fixture / "answers.json").read_text())
    return answers


def stored_topics(fixture: Path) -> set[str]:
    """The event topics the fixture's log holds (read straight from the SQLite file)."""
    path = fixture / "data" / "events.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as db:
        return {topic for (topic,) in db.execute("SELECT DISTINCT topic FROM stored_events")}


def copy_data_dir(fixture: Path, target: Path) -> Path:
    """A copy of the fixture's data dir at ``target``, its key files owner-only again (git
    does not keep file modes, and ``ledgerd`` refuses keys others may read)."""
    shutil.copytree(fixture / "data", target)
    for name in SECRET_FILES:
        (target / name).chmod(0o600)
    return target


def load_postgres_dump(server: PostgresServer, fixture: Path) -> str:
    """A fresh database holding the fixture's PostgreSQL dump; its URL."""
    url = server.create_database(unique_database_name(f"fixture_{fixture.name}"))
    assert server.bin_dir is not None
    subprocess.run(
        [str(server.bin_dir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-f", "-", url],
        input=(fixture / "postgres.sql").read_text(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return url
