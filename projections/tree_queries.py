"""Reading the log's Merkle tree (written by :mod:`projections.merkle`): size, nodes, proofs.

A proof touches O(log² n) nodes spread over the tree. :meth:`TreeQueries.tree` fetches
exactly those in one query: it first runs the computation on a store that only records
which nodes are asked for (which nodes an RFC 9162 computation reads depends on sizes and
indices, never on hash values), then serves the real computation from what it fetched.
Nodes never change once written, so reads need no transaction spanning the size and
the nodes, and a node read once can answer later proofs from memory (:class:`NodeCache`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from typing import Any

from projections import sql
from projections.merkle import ALL_GAPS, MAX_KEYS_PER_QUERY, TREE_TOP, LeafPositions, select_nodes
from transparency import MerkleTree, Node

NodeKey = tuple[int, int]
_PLACEHOLDER = bytes(32)
LEAF_RANGE = "SELECT idx, hash FROM {merkle_nodes} WHERE level = 0 AND idx >= ? AND idx < ?"
NODE_CACHE = 1 << 16  # nodes kept in memory, about 16 MB (covers the last ~32k leaves)


class _Recorder:
    """A NodeStore that notes which nodes are read and answers with a placeholder."""

    def __init__(self) -> None:
        self.keys: set[NodeKey] = set()

    def get(self, level: int, index: int) -> bytes | None:
        self.keys.add((level, index))
        return _PLACEHOLDER

    def put_many(self, nodes: Sequence[Node]) -> None:
        raise TypeError("read-only")


class FetchedNodes:
    """A read-only NodeStore over nodes fetched beforehand."""

    def __init__(self, nodes: dict[NodeKey, bytes]) -> None:
        self.nodes = nodes

    def get(self, level: int, index: int) -> bytes | None:
        return self.nodes.get((level, index))

    def put_many(self, nodes: Sequence[Node]) -> None:
        raise TypeError("read-only")


def nodes_needed(size: int, use: Callable[[MerkleTree], object]) -> set[NodeKey]:
    """The nodes ``use`` reads from a tree of ``size`` leaves."""
    recorder = _Recorder()
    use(MerkleTree(recorder, size))
    return recorder.keys


class NodeCache:
    """The tree's nodes already read, in memory, least recently used dropped first.

    A node is the hash of a complete subtree, which never changes once written: a node
    read for one proof answers the next proofs that need it without a query. The cache
    also knows how many leaves the tree had when last read, so it answers only for trees
    known to exist. Shared by the event loop and reader threads, hence the lock.
    """

    def __init__(self, capacity: int = NODE_CACHE) -> None:
        self.capacity = capacity
        self.size = 0  # leaves the stored tree had at its last read
        self._nodes: OrderedDict[NodeKey, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def tree(self, size: int, use: Callable[[MerkleTree], object]) -> MerkleTree | None:
        """A tree of ``size`` leaves holding the nodes ``use`` needs, if all are cached."""
        if not 0 < size <= self.size:
            return None
        needed = nodes_needed(size, use)
        found: dict[NodeKey, bytes] = {}
        with self._lock:
            for key in needed:
                node = self._nodes.get(key)
                if node is None:
                    return None
                self._nodes.move_to_end(key)
                found[key] = node
        return MerkleTree(FetchedNodes(found), size)

    def remember(self, nodes: dict[NodeKey, bytes]) -> None:
        with self._lock:
            self._nodes.update(nodes)
            for key in nodes:
                self._nodes.move_to_end(key)
            while len(self._nodes) > self.capacity:
                self._nodes.popitem(last=False)

    def saw_size(self, size: int) -> None:
        with self._lock:
            self.size = max(self.size, size)

    def forget(self) -> None:
        """The views are being rebuilt: read everything again."""
        with self._lock:
            self._nodes.clear()
            self.size = 0


class TreeQueries(ABC):
    """The tree's reads; the store supplies transactions and the dialect."""

    dialect: sql.Dialect
    node_cache: NodeCache

    @abstractmethod
    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def position(self) -> int: ...

    def tree_size(self) -> int:
        """The number of leaves: every event up to the tracked position."""
        with self._transaction(commit=False) as cursor:
            return self._size(cursor)

    def tree_is_missing(self) -> bool:
        """Whether events were projected but the tree is empty (views made before it)."""
        return self.position() > 0 and self.tree_size() == 0

    def tree_nodes(self, keys: Collection[NodeKey]) -> dict[NodeKey, bytes]:
        """The stored hashes of ``keys`` (absent ones are left out)."""
        with self._transaction(commit=False) as cursor:
            return self._nodes(cursor, keys)

    def tree(self, size: int, use: Callable[[MerkleTree], object]) -> MerkleTree:
        """A tree of ``size`` leaves holding the nodes ``use`` needs (one query)."""
        return MerkleTree(FetchedNodes(self.tree_nodes(nodes_needed(size, use))), size)

    def cached_tree(self, size: int, use: Callable[[MerkleTree], object]) -> MerkleTree | None:
        """Like :meth:`tree` without touching the database, or None when a node, or the
        knowledge that the tree has ``size`` leaves, is not in memory."""
        return self.node_cache.tree(size, use)

    def tree_at(
        self, resolve: Callable[[int], int], use: Callable[[MerkleTree], object]
    ) -> MerkleTree:
        """Like :meth:`tree`, in one read transaction with the size: ``resolve`` gets the
        current size and returns the size wanted (or raises, e.g. when it is too big)."""
        with self._transaction(commit=False) as cursor:
            size = resolve(self._size(cursor))
            return MerkleTree(FetchedNodes(self._nodes(cursor, nodes_needed(size, use))), size)

    def _size(self, cursor: Any) -> int:
        cursor.execute(self.dialect.sql(TREE_TOP))
        row = cursor.fetchone()
        top = None if row is None else row["top"]
        size = 0 if top is None else int(top) + 1
        self.node_cache.saw_size(size)
        return size

    def _nodes(self, cursor: Any, keys: Collection[NodeKey]) -> dict[NodeKey, bytes]:
        wanted = sorted(keys)
        found: dict[NodeKey, bytes] = {}
        for start in range(0, len(wanted), MAX_KEYS_PER_QUERY):
            chunk = wanted[start : start + MAX_KEYS_PER_QUERY]
            padded = chunk + [chunk[-1]] * (_bucket(len(chunk)) - len(chunk))
            params = [value for key in padded for value in key]
            cursor.execute(self.dialect.sql(select_nodes(len(padded))), params)
            for row in cursor.fetchall():
                found[(int(row["level"]), int(row["idx"]))] = bytes(row["hash"])
        self.node_cache.remember(found)
        return found

    def leaf_hashes(self, first: int, end: int) -> dict[int, bytes]:
        """The stored hashes of leaves ``first`` to ``end - 1`` (level 0), by index."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(self.dialect.sql(LEAF_RANGE), (first, end))
            return {int(row["idx"]): bytes(row["hash"]) for row in cursor.fetchall()}

    def leaf_positions(self) -> LeafPositions:
        """Where the leaves are in the log (see :mod:`projections.merkle`)."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(self.dialect.sql(ALL_GAPS))
            rows = cursor.fetchall()
        return LeafPositions(tuple((int(r["leaf"]), int(r["position"])) for r in rows))


def _bucket(count: int) -> int:
    """``count`` rounded up to a power of two: few distinct statements to prepare."""
    return 1 << max(count - 1, 0).bit_length()
