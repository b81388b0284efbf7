"""Proof verification: honest proofs verify, and any tampering at all makes them fail."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.unit.transparency.reference import leaves_of, mth, path, proof
from transparency import MemoryNodeStore, MerkleTree, verify_consistency, verify_inclusion

N = 300
LEAVES = leaves_of(N)
TREE = MerkleTree(MemoryNodeStore())
TREE.append(LEAVES)
ROOTS = [mth(LEAVES[:n]) for n in range(N + 1)]


def flip(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[(bit // 8) % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


@st.composite
def inclusion_case(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, N))
    return draw(st.integers(0, size - 1)), size


@st.composite
def consistency_case(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(2, N))
    return draw(st.integers(1, new - 1)), new


@given(inclusion_case())
def test_an_inclusion_proof_from_the_tree_verifies_against_the_naive_root(
    case: tuple[int, int],
) -> None:
    index, size = case
    assert verify_inclusion(
        LEAVES[index], index, size, TREE.inclusion_proof(index, size), ROOTS[size]
    )


@given(consistency_case())
def test_a_consistency_proof_from_the_tree_verifies_against_the_naive_roots(
    case: tuple[int, int],
) -> None:
    old, new = case
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], TREE.consistency_proof(old, new))


@given(inclusion_case(), st.integers(0, 255), st.data())
def test_one_flipped_bit_in_an_inclusion_proof_leaf_or_root_fails(
    case: tuple[int, int], bit: int, data: st.DataObject
) -> None:
    index, size = case
    hashes = path(index, LEAVES[:size])
    leaf, root = LEAVES[index], ROOTS[size]
    assert not verify_inclusion(flip(leaf, bit), index, size, hashes, root)
    assert not verify_inclusion(leaf, index, size, hashes, flip(root, bit))
    if hashes:
        i = data.draw(st.integers(0, len(hashes) - 1))
        forged = [*hashes[:i], flip(hashes[i], bit), *hashes[i + 1 :]]
        assert not verify_inclusion(leaf, index, size, forged, root)


@given(inclusion_case(), st.data())
def test_an_inclusion_proof_fails_for_another_index_or_for_another_sizes_root(
    case: tuple[int, int], data: st.DataObject
) -> None:
    index, size = case
    hashes = path(index, LEAVES[:size])
    other_index = data.draw(st.integers(-2, size + 2).filter(lambda i: i != index))
    other_size = data.draw(st.integers(0, N).filter(lambda s: s != size))
    assert not verify_inclusion(LEAVES[index], other_index, size, hashes, ROOTS[size])
    assert not verify_inclusion(LEAVES[index], index, other_size, hashes, ROOTS[other_size])


@given(inclusion_case(), st.binary(min_size=32, max_size=32))
def test_an_inclusion_proof_with_a_hash_added_or_removed_fails(
    case: tuple[int, int], extra: bytes
) -> None:
    index, size = case
    hashes = path(index, LEAVES[:size])
    assert not verify_inclusion(LEAVES[index], index, size, [*hashes, extra], ROOTS[size])
    if hashes:
        assert not verify_inclusion(LEAVES[index], index, size, hashes[:-1], ROOTS[size])


@given(consistency_case(), st.integers(0, 255), st.data())
def test_one_flipped_bit_in_a_consistency_proof_or_either_root_fails(
    case: tuple[int, int], bit: int, data: st.DataObject
) -> None:
    old, new = case
    hashes = proof(old, LEAVES[:new])
    i = data.draw(st.integers(0, len(hashes) - 1))
    forged = [*hashes[:i], flip(hashes[i], bit), *hashes[i + 1 :]]
    assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], forged)
    assert not verify_consistency(old, new, flip(ROOTS[old], bit), ROOTS[new], hashes)
    assert not verify_consistency(old, new, ROOTS[old], flip(ROOTS[new], bit), hashes)


@given(consistency_case(), st.data())
def test_a_consistency_proof_fails_for_other_sizes_with_their_roots(
    case: tuple[int, int], data: st.DataObject
) -> None:
    old, new = case
    hashes = proof(old, LEAVES[:new])
    other_old = data.draw(st.integers(1, new).filter(lambda s: s != old))
    other_new = data.draw(st.integers(old, N).filter(lambda s: s != new))
    assert not verify_consistency(other_old, new, ROOTS[other_old], ROOTS[new], hashes)
    assert not verify_consistency(old, other_new, ROOTS[old], ROOTS[other_new], hashes)


@given(consistency_case())
def test_a_consistency_proof_with_a_hash_removed_or_added_fails(case: tuple[int, int]) -> None:
    old, new = case
    hashes = proof(old, LEAVES[:new])
    assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], hashes[:-1])
    assert not verify_consistency(old, new, ROOTS[old], ROOTS[new], [*hashes, LEAVES[0]])


@given(consistency_case())
def test_a_tree_that_rewrote_one_old_leaf_is_not_consistent_with_its_past(
    case: tuple[int, int],
) -> None:
    old, new = case
    rewritten = list(LEAVES[:new])
    rewritten[old - 1] = LEAVES[-1]
    assert not verify_consistency(old, new, ROOTS[old], mth(rewritten), proof(old, rewritten))


@given(st.integers(1, N), st.data())
def test_proofs_have_at_most_a_logarithmic_number_of_hashes(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    depth = (size - 1).bit_length()  # ceil(log2(size))
    assert len(TREE.inclusion_proof(index, size)) <= depth
    assert len(TREE.consistency_proof(old, size)) <= depth + 1


def test_equal_sizes_need_equal_roots_and_an_empty_proof() -> None:
    assert verify_consistency(7, 7, ROOTS[7], ROOTS[7], [])
    assert not verify_consistency(7, 7, ROOTS[7], ROOTS[8], [])
    assert not verify_consistency(7, 7, ROOTS[7], ROOTS[7], [ROOTS[7]])


def test_every_tree_extends_the_empty_tree_and_nothing_else_claims_size_zero() -> None:
    assert verify_consistency(0, 9, ROOTS[0], ROOTS[9], [])
    assert not verify_consistency(0, 9, ROOTS[1], ROOTS[9], [])
    assert not verify_consistency(3, 2, ROOTS[3], ROOTS[2], [])


def test_malformed_hashes_make_verification_fail_instead_of_raising() -> None:
    assert not verify_inclusion(LEAVES[0][:31], 0, 1, [], ROOTS[1])
    assert not verify_inclusion(LEAVES[0], 0, 2, [b"x"], ROOTS[2])
    assert not verify_consistency(1, 2, ROOTS[1], ROOTS[2][:5], [LEAVES[1]])
