"""A Merkle tree over an append-only sequence of leaf hashes, persisted as complete subtrees.

Leaf ``i`` of the tree is the event at log position ``i + 1``. The tree never stores
"partial" nodes: it stores the hash of every *complete aligned subtree*, node
``(level, index)`` covering leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0
holds the leaf hashes themselves. Those nodes never change once the log grows past them, so
they can be written once (by a projection, in the same transaction as its tracking record)
and serve every later tree size.

The RFC 9162 definitions are recursive over a range of leaves ``D[a:b]``; every range they
ever visit starts at a multiple of the largest power of two not above its length, so its
hash MTH(D[a:b]) is a right fold over at most log2(n) complete aligned subtrees
(:meth:`MerkleTree.range_hash`). Root, PATH and PROOF therefore cost O(log n) store reads
and hash computations each, never O(n).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeAlias

from transparency.hashing import EMPTY_ROOT, HASH_SIZE, node_hash

Node: TypeAlias = tuple[int, int, bytes]
"""``(level, index, hash)``: the hash of the complete aligned subtree ``(level, index)``."""


class NodeStore(Protocol):
    """Where the complete-subtree hashes live (memory for tests, SQL for the server)."""

    def get(self, level: int, index: int) -> bytes | None:
        """The hash of node ``(level, index)``, or None if it was never stored."""
        ...

    def put_many(self, nodes: Sequence[Node]) -> None:
        """Store nodes ``(level, index, hash)``; they are immutable once written."""
        ...


class MemoryNodeStore:
    """A :class:`NodeStore` in lists, one per level (about 2n hashes for n leaves)."""

    def __init__(self) -> None:
        self._levels: list[list[bytes | None]] = []

    def get(self, level: int, index: int) -> bytes | None:
        if level >= len(self._levels) or index < 0:
            return None
        row = self._levels[level]
        return row[index] if index < len(row) else None

    def put_many(self, nodes: Sequence[Node]) -> None:
        levels = self._levels
        for level, index, value in nodes:
            while len(levels) <= level:
                levels.append([])
            row = levels[level]
            if index == len(row):
                row.append(value)
            else:
                if index > len(row):
                    row.extend([None] * (index - len(row)))
                row[index] = value


def largest_power_of_two_below(n: int) -> int:
    """k, the largest power of two smaller than n (n >= 2): the split point of RFC 9162."""
    return 1 << ((n - 1).bit_length() - 1)


def new_nodes(store: NodeStore, size: int, leaf_hashes: Sequence[bytes]) -> list[Node]:
    """The nodes completed by appending ``leaf_hashes`` to a tree of ``size`` leaves.

    Reads (never writes) the existing left siblings from ``store``. Returns the new leaves
    (level 0) and every interior node whose subtree the append completes, level by level in
    index order: exactly what a store needs to serve any tree size up to ``size + len``.
    """
    for leaf in leaf_hashes:
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf)}")
    new_size = size + len(leaf_hashes)
    created: list[Node] = [(0, size + i, bytes(h)) for i, h in enumerate(leaf_hashes)]
    below, below_start = [bytes(h) for h in leaf_hashes], size  # the new nodes of a level
    level = 1
    while (new_size >> level) > (size >> level):
        start, stop = size >> level, new_size >> level
        children = below
        if 2 * start < below_start:  # the first new node's left child existed before
            existing = store.get(level - 1, 2 * start)
            if existing is None:
                raise LookupError(f"node store lacks node (level {level - 1}, index {2 * start})")
            children = [existing, *below]
        below = [node_hash(children[2 * i], children[2 * i + 1]) for i in range(stop - start)]
        below_start = start
        created.extend((level, start + i, value) for i, value in enumerate(below))
        level += 1
    return created


class MerkleTree:
    """An RFC 9162 Merkle tree of ``size`` leaves whose complete subtrees are in ``store``.

    The object is only a view: its state is the store plus ``size`` (which the owner keeps,
    e.g. as the projection's tracked position). Root and proofs are available for every
    size up to the current one, since old complete subtrees are never rewritten.
    """

    def __init__(self, store: NodeStore, size: int = 0) -> None:
        if size < 0:
            raise ValueError("tree size cannot be negative")
        self.store = store
        self.size = size

    def append(self, leaf_hashes: Iterable[bytes]) -> list[Node]:
        """Append leaves: store the newly complete nodes, advance ``size``, return them."""
        leaves = list(leaf_hashes)
        nodes = new_nodes(self.store, self.size, leaves)
        self.store.put_many(nodes)
        self.size += len(leaves)
        return nodes

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[0:size]), the root hash of the tree's first ``size`` leaves (§2.1.1)."""
        n = self._size(size)
        return EMPTY_ROOT if n == 0 else self.range_hash(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, ordered from the leaf upwards.

        PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, else
        PATH(m - k, D[k:n]) : MTH(D[0:k]), with k the largest power of two below n. We walk
        the recursion from the root down and reverse, so the leaf's sibling comes first.
        """
        n = self._size(size)
        if not 0 <= index < n:
            raise ValueError(f"leaf index {index} is not in a tree of size {n}")
        path: list[bytes] = []
        start, end = 0, n
        while end - start > 1:
            mid = start + largest_power_of_two_below(end - start)
            if index < mid:
                path.append(self.range_hash(mid, end))
                end = mid
            else:
                path.append(self.range_hash(start, mid))
                start = mid
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) = SUBPROOF(m, D[n], true) of RFC 9162 §2.1.4.1.

        SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}; for m < n,
        SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) if m <= k, else
        SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]). The proof from the empty tree (or to
        the same size) is empty.
        """
        n = self._size(new_size)
        if not 0 <= old_size <= n:
            raise ValueError(f"old size {old_size} is not between 0 and the new size {n}")
        if old_size in (0, n):
            return []
        proof: list[bytes] = []
        start, end, m, whole = 0, n, old_size, True
        while m != end - start:
            mid = start + largest_power_of_two_below(end - start)
            if m <= mid - start:
                proof.append(self.range_hash(mid, end))
                end = mid
            else:
                proof.append(self.range_hash(start, mid))
                m -= mid - start
                start = mid
                whole = False
        if not whole:
            proof.append(self.range_hash(start, end))
        proof.reverse()
        return proof

    def range_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range RFC 9162's recursion can produce (non-empty, start a
        multiple of the largest power of two not above its length), from O(log n) nodes.

        The range splits into complete aligned subtrees of decreasing size; MTH of the range
        is their right fold with ``node_hash``, since each RFC split takes the largest one.
        """
        if not 0 <= start < end <= self.size:
            raise ValueError(f"range [{start}, {end}) is not in a tree of size {self.size}")
        parts: list[bytes] = []
        offset, remaining = start, end - start
        while remaining:
            level = remaining.bit_length() - 1
            if offset % (1 << level):
                raise ValueError(f"range [{start}, {end}) is not aligned to a subtree")
            parts.append(self._node(level, offset >> level))
            offset += 1 << level
            remaining -= 1 << level
        result = parts.pop()
        while parts:
            result = node_hash(parts.pop(), result)
        return result

    def _node(self, level: int, index: int) -> bytes:
        value = self.store.get(level, index)
        if value is None:
            raise LookupError(f"node store lacks node (level {level}, index {index})")
        return value

    def _size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is not between 0 and {self.size}")
        return size
