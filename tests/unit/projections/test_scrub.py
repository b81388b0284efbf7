"""Scrubbing: stored records compared with the tree's leaves, first mismatch reported."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from eventsourcing.persistence import Notification

from projections.merkle import LeafPositions
from projections.scrub import CHANGED, DELETED, INSERTED, Scrub
from transparency import event_leaf_hash


def record(position: int) -> Notification:
    return Notification(
        id=position,
        originator_id=uuid.UUID(int=position),
        originator_version=1,
        topic="ledger:AppCreated",
        state=f"state {position}".encode(),
    )


def stored_leaf(tree_position: int, stored: Notification, event: Any) -> bytes:
    """A leaf of the stored record alone (the comparison does not care which format)."""
    originator = str(stored.originator_id)
    version, topic = stored.originator_version, stored.topic
    return event_leaf_hash(tree_position, originator, version, topic, stored.state)


class Ledger:
    """A log of records and the tree projected from it (the tree keeps what it saw)."""

    def __init__(self, positions: Sequence[int]) -> None:
        self.records = {p: record(p) for p in positions}
        self.size = len(positions)
        self.leaves = {
            i: stored_leaf(i + 1, self.records[p], None) for i, p in enumerate(positions)
        }
        gaps = [(i, p) for i, p in enumerate(positions) if p != (positions[i - 1] if i else 0) + 1]
        self.positions = LeafPositions(tuple(gaps))

    # -- the tree's reads
    def tree_size(self) -> int:
        return self.size

    def leaf_positions(self) -> LeafPositions:
        return self.positions

    def leaf_hashes(self, first: int, end: int) -> dict[int, bytes]:
        return {i: h for i, h in self.leaves.items() if first <= i < end}

    # -- the store's reads
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        low, high = start or 0, stop if stop is not None else max(self.records, default=0)
        return [self.records[p] for p in sorted(self.records) if low <= p <= high][:limit]

    def change(self, position: int, **fields: Any) -> None:
        self.records[position] = dataclasses.replace(self.records[position], **fields)


def decode(stored: Notification) -> Any:
    if stored.state.startswith(b"garbage"):
        raise ValueError("Invalid cipher tag")
    return {"state": stored.state}


def scrub(ledger: Ledger, page: int = 4) -> Scrub:
    return Scrub(ledger, ledger, decode, stored_leaf, page=page)


def test_a_store_that_is_as_the_tree_saw_it_matches_every_leaf() -> None:
    ledger = Ledger(range(1, 11))

    outcome = scrub(ledger).last(100)

    assert outcome.mismatch is None
    assert (outcome.checked, outcome.size) == (10, 10)


@pytest.mark.parametrize(
    "change",
    [
        {"state": b"state 7!"},
        {"topic": "ledger:AppArchived"},
        {"originator_id": uuid.UUID(int=99)},
        {"originator_version": 2},
    ],
    ids=["state", "topic", "originator id", "version"],
)
def test_a_changed_record_is_the_first_mismatch_at_its_position(change: dict[str, Any]) -> None:
    ledger = Ledger(range(1, 11))
    ledger.change(7, **change)
    ledger.change(9, state=b"changed too")

    outcome = scrub(ledger).last(100)

    assert outcome.mismatch is not None
    assert (outcome.mismatch.position, outcome.mismatch.problem) == (7, CHANGED)
    assert outcome.checked == 6


def test_a_record_that_no_longer_decodes_is_a_mismatch_that_says_so() -> None:
    ledger = Ledger(range(1, 11))
    ledger.change(3, state=b"garbage")

    mismatch = scrub(ledger).last(100).mismatch

    assert mismatch is not None
    assert mismatch.position == 3
    assert mismatch.problem == "the record no longer decodes (ValueError)"
    assert "cipher" not in str(mismatch)  # the class only, never what the decoder quoted


@pytest.mark.parametrize("deleted", [1, 5, 8, 10])
def test_a_deleted_record_is_named_by_the_leaf_left_without_it(deleted: int) -> None:
    ledger = Ledger(range(1, 11))
    del ledger.records[deleted]

    mismatch = scrub(ledger).last(100).mismatch

    assert mismatch is not None
    assert (mismatch.position, mismatch.log_position, mismatch.problem) == (
        deleted,
        deleted,
        DELETED,
    )


def test_a_record_inserted_where_the_log_had_a_gap_is_a_mismatch_with_both_positions() -> None:
    ledger = Ledger([1, 2, 3, 6, 7, 8])  # PostgreSQL skipped 4 and 5
    ledger.records[5] = record(5)

    mismatch = scrub(ledger).last(100).mismatch

    assert mismatch is not None
    assert (mismatch.position, mismatch.log_position, mismatch.problem) == (4, 5, INSERTED)
    assert str(mismatch) == f"position 4 (log position 5): {INSERTED}"


def test_after_a_gap_leaves_are_compared_with_the_records_at_their_log_positions() -> None:
    ledger = Ledger([1, 2, 3, 6, 7, 8])
    ledger.change(7, state=b"changed")

    mismatch = scrub(ledger).last(100).mismatch

    assert mismatch is not None
    assert (mismatch.position, mismatch.log_position) == (5, 7)


def test_a_range_compares_only_its_leaves() -> None:
    ledger = Ledger(range(1, 21))
    ledger.change(3, state=b"changed")

    newest = scrub(ledger).last(10)
    middle = scrub(ledger).leaves(5, 12, ledger.size)

    assert newest.mismatch is None and (newest.first, newest.end) == (10, 20)
    assert middle.mismatch is None and middle.checked == 7


def test_every_leaf_is_computed_by_the_injected_hasher_from_the_decoded_event() -> None:
    ledger = Ledger(range(1, 6))
    seen: list[tuple[int, int, Any]] = []

    def leaf_of(tree_position: int, stored: Notification, event: Any) -> bytes:
        seen.append((tree_position, stored.id, event))
        return stored_leaf(tree_position, stored, event)

    Scrub(ledger, ledger, decode, leaf_of, page=2).last(100)

    assert seen == [(p, p, {"state": f"state {p}".encode()}) for p in range(1, 6)]
