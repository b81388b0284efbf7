"""RFC 6962 known answers: the eight leaves of certificate-transparency's test suites.

Every expected value is also recomputed by the naive RFC definitions in ``reference.py``,
so a wrong constant here could not make a wrong implementation pass.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.unit.transparency.reference import mth, path, proof, ref_leaf
from transparency import (
    EMPTY_ROOT,
    MemoryNodeStore,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

DATA = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
CONSISTENCY = [
    (2, 8, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
LEAVES = [ref_leaf(d) for d in DATA]


def tree() -> MerkleTree:
    t = MerkleTree(MemoryNodeStore())
    t.append(leaf_hash(d) for d in DATA)
    return t


def test_the_empty_root_is_the_sha256_of_nothing() -> None:
    assert EMPTY_ROOT == hashlib.sha256(b"").digest() == bytes.fromhex(ROOTS[0])
    assert MerkleTree(MemoryNodeStore()).root() == EMPTY_ROOT == root_from_leaves([])


def test_leaves_and_nodes_are_hashed_with_their_domain_prefixes() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )


@pytest.mark.parametrize("size", range(9))
def test_the_root_of_each_prefix_of_the_eight_leaves_is_the_published_one(size: int) -> None:
    expected = bytes.fromhex(ROOTS[size])
    assert mth(LEAVES[:size]) == expected
    assert tree().root(size) == expected
    assert root_from_leaves([leaf_hash(d) for d in DATA[:size]]) == expected


@pytest.mark.parametrize(("index", "size", "hashes"), INCLUSION)
def test_the_published_inclusion_paths_are_generated_and_verify(
    index: int, size: int, hashes: list[str]
) -> None:
    expected = [bytes.fromhex(h) for h in hashes]
    assert path(index, LEAVES[:size]) == expected
    assert tree().inclusion_proof(index, size) == expected
    assert verify_inclusion(LEAVES[index], index, size, expected, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "hashes"), CONSISTENCY)
def test_the_published_consistency_proofs_are_generated_and_verify(
    old: int, new: int, hashes: list[str]
) -> None:
    expected = [bytes.fromhex(h) for h in hashes]
    assert proof(old, LEAVES[:new]) == expected
    assert tree().consistency_proof(old, new) == expected
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, expected)
    assert not verify_consistency(old, new, bytes.fromhex(ROOTS[old - 1]), new_root, expected)
