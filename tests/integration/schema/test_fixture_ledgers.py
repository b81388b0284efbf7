"""Every fixture ledger, written by an earlier version, is read by this one: its log replays
into freshly rebuilt projections that answer what the writing version answered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.domain import Rack
from ledger.domain.registry import event_classes
from server.bootstrap import bootstrap, package_version
from server.infra.settings import Settings
from tests.integration.schema.answers import answers, missing
from tests.integration.schema.fixtures import (
    copy_data_dir,
    expected_answers,
    fixture_ledgers,
    load_postgres_dump,
    stored_topics,
)
from tests.support.ledgerd import LedgerdProcess
from tests.support.postgres import PostgresServer

LEDGERS = fixture_ledgers()
BY_NAME = [pytest.param(path, id=path.name) for path in LEDGERS]


def replayed_answers(settings: Settings, head: int) -> dict[str, Any]:
    """Start this version on the ledger (projections rebuilt from position 0), then ask.

    It starts as another version than the fixture's, as later versions will: their start is
    recorded after ``head``, and the answers as of ``head`` must not show it."""
    container = bootstrap(settings)
    try:
        container.start(f"{package_version()}+replay")
        assert container.worker.wait_for(container.ledger.head(), 60)
        return answers(container.queries, head)
    finally:
        container.close()


def test_there_is_a_fixture_ledger() -> None:
    assert LEDGERS, "no tests/fixtures/ledger-*/: run scripts/make_fixture_ledger.py"


def test_the_newest_fixture_ledger_holds_every_event_type() -> None:
    # A ledger records how its tree's leaves are signed once: new ledgers adopt the format
    # (every ledger the tests start does), an older one is linked; the fixture is older.
    topics = {kind.TOPIC for kind in event_classes()} - {Rack.LeafFormatAdopted.TOPIC}
    absent = sorted(topics - stored_topics(LEDGERS[-1]))
    assert not absent, (
        f"{LEDGERS[-1].name} has no {', '.join(absent)}: make scripts/make_fixture_ledger.py "
        "record them and run it again: PYTHONPATH=. python scripts/make_fixture_ledger.py"
    )


@pytest.mark.parametrize("fixture", BY_NAME)
def test_a_fixture_ledger_on_sqlite_replays_to_the_answers_of_its_version(
    fixture: Path, tmp_path: Path
) -> None:
    expected = expected_answers(fixture)
    data = copy_data_dir(fixture, tmp_path / "data")
    settings = Settings(data_dir=data, console_listen="")

    differences = missing(expected, replayed_answers(settings, expected["head"]))

    assert not differences, "\n".join(differences[:40])


@pytest.mark.postgres
@pytest.mark.parametrize("fixture", BY_NAME)
def test_a_fixture_ledger_on_postgresql_replays_to_the_answers_of_its_version(
    fixture: Path, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    expected = expected_answers(fixture)
    data = copy_data_dir(fixture, tmp_path / "data")
    url = load_postgres_dump(postgres_server, fixture)
    settings = Settings(data_dir=data, database_url=url, console_listen="")

    differences = missing(expected, replayed_answers(settings, expected["head"]))

    assert not differences, "\n".join(differences[:40])


@pytest.mark.parametrize("fixture", BY_NAME)
def test_ledgerctl_lists_a_fixture_ledger_s_releases_and_rack_versions_as_its_version_did(
    fixture: Path, tmp_path: Path
) -> None:
    expected = expected_answers(fixture)
    data = copy_data_dir(fixture, tmp_path / "data")
    ledgerd = LedgerdProcess({"LEDGER_DATA": str(data)}, cwd=tmp_path).start()
    try:
        releases = ledgerctl(ledgerd, "--json", "-a", "shop", "releases", "--limit", "500")
        rack = ledgerctl(ledgerd, "--json", "rack", "releases")
    finally:
        assert ledgerd.stop() == 0, "".join(ledgerd.output)

    wanted = expected["releases"]["shop"]
    assert [(r["id"], r["version"], r["active"]) for r in releases] == [
        (r["id"], r["version"], r["active"]) for r in wanted
    ]
    older = [r for r in rack if r["position"] <= expected["head"]]
    assert [(r["version"], r["position"]) for r in older] == [
        (r["version"], r["position"]) for r in expected["rack_releases"]
    ]


def ledgerctl(ledgerd: LedgerdProcess, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--host", ledgerd.address, *args],
        env={"LEDGER_TOKEN": ledgerd.token, "PATH": "/usr/bin:/bin", **_python_path()},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"ledgerctl {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def _python_path() -> dict[str, str]:
    import os

    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
