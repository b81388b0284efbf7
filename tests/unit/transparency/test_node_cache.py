"""The in-memory cache of tree nodes: bounded, and never answers for an unknown tree."""

from __future__ import annotations

from projections.tree_queries import NodeCache
from transparency import MerkleTree


def root_of_two(tree: MerkleTree) -> bytes:
    return tree.root()


def test_a_cache_answers_only_trees_whose_size_it_has_seen() -> None:
    cache = NodeCache()
    cache.remember({(1, 0): b"r" * 32})

    assert cache.tree(2, root_of_two) is None
    cache.saw_size(2)
    tree = cache.tree(2, root_of_two)
    assert tree is not None and tree.root() == b"r" * 32


def test_a_full_cache_drops_the_least_recently_used_node() -> None:
    cache = NodeCache(capacity=2)
    cache.saw_size(4)
    cache.remember({(0, 0): b"a" * 32, (0, 1): b"b" * 32})
    assert cache.tree(1, root_of_two) is not None  # (0, 0) used: (0, 1) is now the oldest

    cache.remember({(0, 2): b"c" * 32})

    assert cache.tree(1, root_of_two) is not None
    assert cache.tree(2, lambda tree: tree.inclusion_proof(0, 2)) is None  # needs (0, 1)
