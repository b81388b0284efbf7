"""The projection's side of the Merkle tree: growth from the right edge, leaf positions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from eventsourcing.persistence import Notification
from hypothesis import given
from hypothesis import strategies as st

from projections.audit import Projectable
from projections.merkle import LeafPositions, TreeTail, edge_keys, leaf_hash
from transparency import MemoryNodeStore, MerkleTree, event_leaf_hash, root_from_leaves
from transparency.tree import Node


def item(position: int) -> Projectable:
    stored = Notification(
        id=position,
        originator_id=uuid.UUID(int=position),
        originator_version=1,
        topic="ledger:AppCreated",
        state=f"state {position}".encode(),
    )
    event: Any = None
    return Projectable(position, "AppCreated", event, stored)


def leaf(tree_position: int, log_position: int) -> bytes:
    originator = str(uuid.UUID(int=log_position))
    state = f"state {log_position}".encode()
    return event_leaf_hash(tree_position, originator, 1, "ledger:AppCreated", state)


def grow(positions: list[int], batches: list[int]) -> tuple[TreeTail, list[Node], list[Any]]:
    tail, nodes, gaps = TreeTail(), [], []
    start = 0
    for size in [*batches, len(positions)]:
        chunk = positions[start : start + size]
        if chunk:
            tail, new, new_gaps = tail.grow([item(p) for p in chunk])
            nodes += new
            gaps += new_gaps
        start += len(chunk)
    return tail, nodes, gaps


increasing = st.lists(st.integers(1, 4), min_size=1, max_size=60).map(
    lambda steps: [sum(steps[: i + 1]) for i in range(len(steps))]
)


@given(positions=increasing, batches=st.lists(st.integers(1, 20), max_size=6))
def test_growing_from_the_right_edge_in_any_batches_stores_the_trees_nodes(
    positions: list[int], batches: list[int]
) -> None:
    tail, nodes, _ = grow(positions, batches)

    leaves = [leaf(i + 1, p) for i, p in enumerate(positions)]
    reference = MemoryNodeStore()
    MerkleTree(reference).append(leaves)
    assert sorted(nodes) == sorted(
        (level, index, reference.get(level, index) or b"")
        for level in range(8)
        for index in range(len(leaves) >> level)
    )
    assert (tail.size, tail.last_position) == (len(positions), positions[-1])
    assert sorted(tail.edge.items()) == sorted(
        (level, (index, reference.get(level, index))) for level, index in edge_keys(tail.size)
    )
    store = MemoryNodeStore()
    store.put_many(nodes)
    assert MerkleTree(store, len(leaves)).root() == root_from_leaves(leaves)


@given(positions=increasing, batches=st.lists(st.integers(1, 20), max_size=6))
def test_gap_rows_map_every_leaf_to_its_log_position_and_back(
    positions: list[int], batches: list[int]
) -> None:
    _, _, gaps = grow(positions, batches)
    mapping = LeafPositions(tuple(gaps))

    assert [mapping.position(i) for i in range(len(positions))] == positions
    assert [mapping.leaf(p) for p in positions] == list(range(len(positions)))
    for missing in set(range(1, positions[-1])) - set(positions):
        assert mapping.leaf(missing) == sum(p < missing for p in positions)


def test_without_gaps_tree_positions_are_log_positions_and_no_row_is_written() -> None:
    _, _, gaps = grow(list(range(1, 20)), [3, 7])

    assert gaps == []
    assert LeafPositions().position(6) == 7
    assert LeafPositions().leaf(7) == 6


def test_an_event_stored_in_a_gap_claims_the_place_of_the_next_leaf() -> None:
    mapping = LeafPositions(((0, 3), (5, 10)))  # leaves 0-4 at 3-7, leaves 5- at 10-

    assert [mapping.position(i) for i in (0, 4, 5, 6)] == [3, 7, 10, 11]
    assert [mapping.leaf(p) for p in (1, 3, 7, 8, 9, 10, 12)] == [0, 0, 4, 5, 5, 5, 7]


@given(
    tree_position=st.integers(1, 2**62),
    originator=st.one_of(st.uuids(), st.text(max_size=40)),
    version=st.integers(0, 2**62),
    topic=st.text(max_size=40),
    state=st.binary(max_size=300),
)
def test_the_projections_leaf_hash_is_the_canonical_leaf_hash_of_the_stored_record(
    tree_position: int, originator: uuid.UUID | str, version: int, topic: str, state: bytes
) -> None:
    stored = Notification(
        id=1, originator_id=originator, originator_version=version, topic=topic, state=state
    )

    expected = event_leaf_hash(tree_position, str(originator), version, topic, state)
    assert leaf_hash(tree_position, stored) == expected


def test_a_record_of_unexpected_types_is_refused_as_the_canonical_leaf_refuses_it() -> None:
    stored = Notification(
        id=1, originator_id=uuid.UUID(int=1), originator_version=True, topic="t", state=b""
    )

    with pytest.raises(ValueError, match="originator_version must be an int"):
        leaf_hash(1, stored)
