"""Group commit: concurrent saves share one transaction, and each keeps its own outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, OperationalError, Recording

from ledger.application import LedgerApplication
from ledger.commit import GroupCommit
from ledger.domain import App, Meta

ALICE = Meta("alice")


class GatedSaves:
    """The application's own save, held at a gate, counting the transactions it runs."""

    def __init__(self, ledger: LedgerApplication) -> None:
        self.ledger = ledger
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.groups: list[int] = []

    def __call__(self, processing: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        self.entered.set()
        self.gate.wait(10)
        self.groups.append(len({event.originator_id for event in processing.events}))
        return self.ledger._save_processing(processing)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerApplication]:
    app = LedgerApplication(
        {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")}
    )
    yield app
    app.close()


Result = list[Recording[UUID]] | IntegrityError | OperationalError


def commit_at_once(
    commits: GroupCommit, saves: GatedSaves, batches: list[list[App]]
) -> dict[int, Result]:
    """Commit the first batch (held at the gate), queue the others behind it, open the gate;
    each batch's result (recordings or the error) by its index."""
    results: dict[int, Result] = {}

    def run(index: int) -> None:
        try:
            results[index] = commits.commit(batches[index])
        except (IntegrityError, OperationalError) as error:
            results[index] = error

    first = threading.Thread(target=run, args=(0,))
    first.start()
    assert saves.entered.wait(10)
    others = [threading.Thread(target=run, args=(i,)) for i in range(1, len(batches))]
    for thread in others:
        thread.start()
    while len(commits._queued) < len(others):
        threading.Event().wait(0.005)
    saves.gate.set()
    for thread in [first, *others]:
        thread.join(10)
    return results


def test_commands_that_arrive_together_are_saved_in_one_transaction(
    ledger: LedgerApplication,
) -> None:
    saves = GatedSaves(ledger)
    commits = GroupCommit(saves)
    batches = [[App.create(f"app{n}", ALICE)] for n in range(6)]

    results = commit_at_once(commits, saves, batches)

    assert saves.groups == [1, 5]
    positions = [
        recording.notification.id
        for result in results.values()
        if isinstance(result, list)
        for recording in result
    ]
    assert sorted(positions) == list(range(1, 7))
    assert {ledger.app(f"app{n}").name for n in range(6)} == {f"app{n}" for n in range(6)}


def test_a_conflict_in_a_group_fails_only_the_command_that_caused_it(
    ledger: LedgerApplication,
) -> None:
    shop = App.create("shop", ALICE)
    ledger.save(shop)
    first, second = ledger.app("shop"), ledger.app("shop")
    first.change_deadline(ALICE, 30)
    second.change_deadline(ALICE, 60)  # decided on the same version: a conflict
    saves = GatedSaves(ledger)
    commits = GroupCommit(saves)
    blocker, other = App.create("blocker", ALICE), App.create("other", ALICE)

    results = commit_at_once(commits, saves, [[blocker], [first], [second], [other]])

    assert isinstance(results[2], IntegrityError) != isinstance(results[1], IntegrityError)
    assert not isinstance(results[3], IntegrityError)
    assert ledger.app("other").name == "other"
    assert ledger.app("shop").deadline_seconds in (30, 60)
    assert ledger.app("shop").version == 2


class FailingGroups(GatedSaves):
    """The application's save, except that a group of several fails as a database down would."""

    def __call__(self, processing: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        if len({event.originator_id for event in processing.events}) > 1:
            self.groups.append(-1)
            raise OperationalError("the database is down")
        return super().__call__(processing)


def test_a_group_the_database_refuses_gives_every_command_the_error_at_once(
    ledger: LedgerApplication,
) -> None:
    saves = FailingGroups(ledger)
    commits = GroupCommit(saves)
    batches = [[App.create(f"app{n}", ALICE)] for n in range(4)]

    results = commit_at_once(commits, saves, batches)

    assert saves.groups == [1, -1]  # the group was not tried again command by command
    assert all(isinstance(results[n], OperationalError) for n in (1, 2, 3))
    assert ledger.head() == 1
