"""The persisted tree: nodes it stores, roots and proofs equal to the RFC definitions."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.transparency.reference import leaves_of, mth, path, proof
from transparency import MemoryNodeStore, MerkleTree, new_nodes
from transparency.tree import Node

LEAVES = leaves_of(140)


def build(size: int, batches: Sequence[int] = ()) -> MerkleTree:
    """A tree of ``size`` leaves appended in batches of the given sizes, then the rest."""
    tree = MerkleTree(MemoryNodeStore())
    for batch in batches:
        tree.append(LEAVES[tree.size : min(size, tree.size + batch)])
    tree.append(LEAVES[tree.size : size])
    return tree


class CountingStore(MemoryNodeStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, level: int, index: int) -> bytes | None:
        self.reads += 1
        return super().get(level, index)


@given(size=st.integers(0, 140), batches=st.lists(st.integers(0, 40), max_size=8))
def test_the_root_after_appends_in_any_batches_is_the_rfc_root(
    size: int, batches: list[int]
) -> None:
    assert build(size, batches).root() == mth(LEAVES[:size])


@given(st.data())
def test_inclusion_proofs_are_exactly_rfc_path_for_every_older_size(data: st.DataObject) -> None:
    tree = build(140, data.draw(st.lists(st.integers(1, 50), max_size=5)))
    size = data.draw(st.integers(1, 140))
    index = data.draw(st.integers(0, size - 1))
    assert tree.inclusion_proof(index, size) == path(index, LEAVES[:size])


@given(st.data())
def test_consistency_proofs_are_exactly_rfc_proof_for_every_pair_of_sizes(
    data: st.DataObject,
) -> None:
    tree = build(140)
    new = data.draw(st.integers(0, 140))
    old = data.draw(st.integers(0, new))
    assert tree.consistency_proof(old, new) == proof(old, LEAVES[:new])


@given(old=st.integers(0, 70), added=st.integers(0, 70))
def test_an_append_returns_exactly_the_complete_subtrees_it_completes(old: int, added: int) -> None:
    store = MemoryNodeStore()
    store.put_many(new_nodes(store, 0, LEAVES[:old]))
    created = new_nodes(store, old, LEAVES[old : old + added])

    def complete(size: int) -> set[tuple[int, int]]:
        return {(level, index) for level in range(9) for index in range(size >> level)}

    assert {(level, index) for level, index, _ in created} == complete(old + added) - complete(old)
    for level, index, value in created:
        assert value == mth(LEAVES[index << level : (index + 1) << level])


def test_the_stored_nodes_alone_serve_a_tree_reopened_at_its_size() -> None:
    store = MemoryNodeStore()
    MerkleTree(store).append(LEAVES[:100])
    reopened = MerkleTree(store, 100)
    reopened.append(LEAVES[100:137])
    assert reopened.root() == mth(LEAVES[:137])
    assert reopened.consistency_proof(100) == proof(100, LEAVES[:137])


def test_appending_nothing_creates_no_nodes() -> None:
    tree = build(10)
    assert tree.append([]) == []
    assert tree.size == 10


def test_an_append_to_a_store_missing_a_left_sibling_fails_loudly() -> None:
    store = MemoryNodeStore()
    with pytest.raises(LookupError, match="level 0, index 0"):
        new_nodes(store, 1, LEAVES[1:2])


def test_leaf_hashes_of_the_wrong_length_are_rejected() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MerkleTree(MemoryNodeStore()).append([b"short"])


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("inclusion_proof", (10, 10)),
        ("inclusion_proof", (-1, 10)),
        ("inclusion_proof", (0, 11)),
        ("consistency_proof", (11, 10)),
        ("consistency_proof", (3, 11)),
        ("root", (11,)),
    ],
)
def test_indices_and_sizes_outside_the_tree_are_rejected(call: str, args: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        getattr(build(10), call)(*args)


def test_a_proof_reads_a_logarithmic_number_of_nodes_from_the_store() -> None:
    store = CountingStore()
    tree = MerkleTree(store)
    size = (1 << 16) + 12345
    tree.append(leaves_of(size))
    for index, old in [(0, 1), (size - 1, size - 1), (12345, 54321), (65536, 65537)]:
        store.reads = 0
        tree.inclusion_proof(index)
        tree.consistency_proof(old)
        assert store.reads <= 4 * size.bit_length()


def test_proof_generation_on_a_large_tree_takes_well_under_two_milliseconds() -> None:
    size = 200_003
    tree = MerkleTree(MemoryNodeStore())
    nodes: list[Node] = tree.append(leaves_of(size))
    assert len(nodes) < 2 * size
    started = time.perf_counter()
    for i in range(1000):
        tree.inclusion_proof((i * 7919) % size)
        tree.consistency_proof((i * 104729) % size + 1)
    per_proof = (time.perf_counter() - started) / 2000
    assert per_proof < 0.002
