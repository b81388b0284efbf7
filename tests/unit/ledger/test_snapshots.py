"""Snapshots are taken from the aggregate just saved, and equal what its events rebuild."""

from __future__ import annotations

from pathlib import Path

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, UpdateEnv
from ledger.domain import App, Meta
from ledger.promoter import Promoter
from ledger.service import LedgerService
from runtime.record import RecordRuntime
from tests.unit.ledger.test_properties import sqlite_env

ALICE = Meta("alice")


def test_an_app_snapshot_holds_the_state_its_events_rebuild(tmp_path: Path) -> None:
    ledger = LedgerApplication(sqlite_env(tmp_path / "events.db", True), snapshot_interval=4)
    runtime = RecordRuntime()
    service = LedgerService(ledger, runtime, Promoter(ledger, runtime, 0))
    service.create_app(CreateApp("shop"), ALICE)
    for n in range(9):
        service.update_env(UpdateEnv(app="shop", set_values={f"K{n}": str(n)}), ALICE)
    ledger.close()
    app_id = App.create_id("shop")

    path = tmp_path / "events.db"
    with_snapshots = LedgerApplication(sqlite_env(path, True), snapshot_interval=4)
    from_events = LedgerApplication(sqlite_env(path, False))
    snapshots = list(with_snapshots.snapshots.get(app_id)) if with_snapshots.snapshots else []
    loaded = with_snapshots.repository.get(app_id)
    replayed = from_events.repository.get(app_id)

    assert [s.originator_version for s in snapshots] == [4, 8]
    assert vars(loaded) == vars(replayed)
    with_snapshots.close()
    from_events.close()
