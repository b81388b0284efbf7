"""The projection's side of the Merkle tree: growth from the right edge, leaf positions."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import Notification
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import App, Meta
from ledger.domain.secrecy import Mask
from projections.audit import Projectable, audit_record
from projections.merkle import LeafPositions, TreeTail, edge_keys, leaf_hash
from transparency import MemoryNodeStore, MerkleTree, canonical, root_from_leaves
from transparency.tree import Node

CREATED = App(app="web", actor="alice (K1)", request_id="r-1").collect_events()[0]


def item(position: int, event: Any = CREATED) -> Projectable:
    stored = Notification(
        id=position,
        originator_id=uuid.UUID(int=position),
        originator_version=1,
        topic="ledger:AppCreated",
        state=f"state {position}".encode(),
    )
    return Projectable(position, "AppCreated", event, stored)


def leaf(tree_position: int, log_position: int) -> bytes:
    """The leaf as the format document spells it, with json.dumps."""
    record = {
        "position": tree_position,
        "log_position": log_position,
        "type": "AppCreated",
        "app": "web",
        "actor": "alice (K1)",
        "request_id": "r-1",
        "time": CREATED.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": {},
    }
    data = {
        "originator_id": str(uuid.UUID(int=log_position)),
        "originator_version": 1,
        "position": tree_position,
        "record": record,
        "state": base64.b64encode(f"state {log_position}".encode()).decode(),
        "topic": "ledger:AppCreated",
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(b"\x00" + text.encode("ascii")).digest()


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


def test_the_leaf_signs_who_did_what_in_the_audit_record_next_to_the_stored_record() -> None:
    assert leaf_hash(3, item(5)) == leaf(3, 5)


def test_another_actor_or_time_in_the_event_gives_another_leaf() -> None:
    other = App(app="web", actor="mallory (K0)", request_id="r-1").collect_events()[0]
    later = App.Created(**{**vars(CREATED), "timestamp": datetime(2030, 1, 1, tzinfo=UTC)})

    assert leaf_hash(3, item(5, other)) != leaf(3, 5)
    assert leaf_hash(3, item(5, later)) != leaf(3, 5)


def test_secret_values_are_signed_as_their_digests_under_the_views_mask() -> None:
    app = App(app="web", actor="alice (K1)", request_id="")
    changed = app.change_env(
        Meta("alice (K1)"),
        set_values={"DB_PASSWORD": "hunter2-secret"},
        unset=[],
        replace=False,
        expected_version=None,
        description="",
    )
    mask = Mask(b"k" * 32)

    record = audit_record(item(2, changed), 2, mask)

    assert record["data"]["values"] == {"DB_PASSWORD": mask("hunter2-secret", audit=True)}
    assert "hunter2-secret" not in canonical(record)
    assert leaf_hash(2, item(2, changed), mask) != leaf_hash(2, item(2, changed), Mask(b"x" * 32))


@given(
    tree_position=st.integers(1, 2**62),
    originator=st.one_of(st.uuids(), st.text(max_size=40)),
    version=st.integers(0, 2**62),
    topic=st.text(max_size=40),
    state=st.binary(max_size=300),
    actor=st.text(max_size=40),
)
def test_the_projections_leaf_is_the_documented_json_of_the_stored_and_audit_records(
    tree_position: int,
    originator: uuid.UUID | str,
    version: int,
    topic: str,
    state: bytes,
    actor: str,
) -> None:
    stored = Notification(
        id=7, originator_id=originator, originator_version=version, topic=topic, state=state
    )
    event = App.Created(**{**vars(CREATED), "actor": actor})
    record = {
        "position": tree_position,
        "log_position": 7,
        "type": "AppCreated",
        "app": "web",
        "actor": actor,
        "request_id": "r-1",
        "time": CREATED.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": {},
    }
    data = {
        "originator_id": str(originator),
        "originator_version": version,
        "position": tree_position,
        "record": record,
        "state": base64.b64encode(state).decode(),
        "topic": topic,
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    expected = hashlib.sha256(b"\x00" + text.encode("ascii")).digest()
    assert leaf_hash(tree_position, Projectable(7, "AppCreated", event, stored), Mask()) == expected


def test_a_record_of_unexpected_types_is_refused_as_the_canonical_leaf_refuses_it() -> None:
    stored = Notification(
        id=1, originator_id=uuid.UUID(int=1), originator_version=True, topic="t", state=b""
    )

    with pytest.raises(ValueError, match="originator_version must be an int"):
        leaf_hash(1, Projectable(1, "AppCreated", CREATED, stored))
