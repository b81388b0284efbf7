"""The Merkle tree of the whole log (RFC 9162), kept by the projection, exactly once.

Every stored event is a leaf, in log order: leaf ``i`` is the log's ``(i + 1)``-th event
and ``i + 1`` is its *tree position*, the position inside its leaf data (format 2, in
:mod:`transparency.leaf_v2`). A leaf hashes the record exactly as stored (topic, ids,
version and state bytes; encrypted states stay encrypted, so verifiers need no key) and
the event's plaintext audit record (:func:`projections.audit.audit_record`: who did what,
secret values digested under the views' mask), so an auditor with only the public key
can trust who did what.

Two tables, written in the transaction of the batch and its tracking row, so the tree is
exactly once and a rebuild from position 0 writes it again identically:

- ``merkle_nodes(level, idx, hash)``: the hash of every complete subtree (the model of
  :mod:`transparency.tree`); the tree's size is the number of level-0 rows.
- ``merkle_gaps(leaf, position)``: tree positions are the log positions, except where
  PostgreSQL skipped log positions (a failed write consumes its sequence numbers). A row
  says "leaf ``leaf`` is the event at log position ``position``, and the next leaves are
  at the next positions, up to the next row". Empty on SQLite.

Appending costs no query: :class:`MerkleWriter` keeps the tree's right edge in memory (the
last node of each level, all that :func:`transparency.new_nodes` reads) and inserts the
batch's new nodes with one ``executemany``. It reloads the edge (two or three small
queries) only for its first batch, after a gap, or when another worker appended meanwhile.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError, Notification

from ledger.domain.secrecy import HIDDEN, Mask
from projections import sql
from projections.audit import Projectable, record_text
from transparency import Node, new_nodes
from transparency.hashing import leaf_hash as rfc_leaf_hash
from transparency.leaf_v2 import event_leaf_v2

INSERT_NODE = "INSERT INTO {merkle_nodes} (level, idx, hash) VALUES (?, ?, ?)"
INSERT_GAP = "INSERT INTO {merkle_gaps} (leaf, position) VALUES (?, ?)"
TREE_TOP = "SELECT MAX(idx) AS top FROM {merkle_nodes} WHERE level = 0"
LAST_GAP = "SELECT leaf, position FROM {merkle_gaps} WHERE leaf <= ? ORDER BY leaf DESC LIMIT 1"
ALL_GAPS = "SELECT leaf, position FROM {merkle_gaps} ORDER BY leaf"
MAX_KEYS_PER_QUERY = 256
Gap = tuple[int, int]
"""A ``merkle_gaps`` row: (leaf, log position)."""


def select_nodes(count: int) -> str:
    """The nodes of ``count`` (level, idx) pairs. Spelled as ORs of key lookups, which both
    databases answer from the primary key (SQLite scans the table for a row-value IN)."""
    pairs = " OR ".join(["(level = ? AND idx = ?)"] * count)
    return f"SELECT level, idx, hash FROM {{merkle_nodes}} WHERE {pairs}"


@dataclass(frozen=True)
class LeafPositions:
    """Where the leaves are in the log: from the ``merkle_gaps`` rows, ordered by leaf."""

    runs: tuple[tuple[int, int], ...] = ()
    _leaves: list[int] = field(default_factory=list, compare=False, repr=False)
    _positions: list[int] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._leaves.extend(leaf for leaf, _ in self.runs)
        self._positions.extend(position for _, position in self.runs)

    def position(self, leaf: int) -> int:
        """The log position of leaf ``leaf`` (tree position ``leaf + 1``)."""
        i = bisect_right(self._leaves, leaf) - 1
        if i < 0:
            return leaf + 1
        first_leaf, first_position = self.runs[i]
        return first_position + leaf - first_leaf

    def leaf(self, position: int) -> int:
        """The leaf of the event at log ``position``; a position that no leaf has (it fell
        in a gap) gets the next leaf, whose place an event there would claim."""
        i = bisect_right(self._positions, position) - 1
        base_leaf, base_position = self.runs[i] if i >= 0 else (0, 1)
        following = self.runs[i + 1] if i + 1 < len(self.runs) else None
        leaf = base_leaf + max(position - base_position, 0)
        if following is not None and leaf >= following[0]:
            return following[0]
        return leaf


@dataclass(frozen=True)
class TreeTail:
    """What appending needs: the size, the log position of the last leaf, and the right
    edge (level -> (index, hash) of the level's last node). A read-only NodeStore."""

    size: int = 0
    last_position: int = 0
    edge: dict[int, tuple[int, bytes]] = field(default_factory=dict)

    def get(self, level: int, index: int) -> bytes | None:
        node = self.edge.get(level)
        return node[1] if node is not None and node[0] == index else None

    def put_many(self, nodes: Sequence[Node]) -> None:
        raise TypeError("a TreeTail is read-only: grow() returns the next one")

    def grow(
        self,
        items: Sequence[Projectable],
        mask: Mask = HIDDEN,
        data: Mapping[int, str] | None = None,
    ) -> tuple[TreeTail, list[Node], list[Gap]]:
        """The tail after appending ``items``, the nodes to insert and the gap rows
        (``mask`` digests the secret values of the audit records; ``data`` has the
        canonical data texts already made, by log position)."""
        leaves = leaf_hashes(items, self.size, mask, data)
        return self.grow_by([item.position for item in items], leaves)

    def grow_by(
        self, positions: Sequence[int], leaves: Sequence[bytes]
    ) -> tuple[TreeTail, list[Node], list[Gap]]:
        """:meth:`grow` with the leaves hashed already (the events at log ``positions``,
        the first of them leaf ``self.size``)."""
        gaps: list[Gap] = []
        previous = self.last_position
        for offset, position in enumerate(positions):
            if position != previous + 1:
                gaps.append((self.size + offset, position))
            previous = position
        nodes = new_nodes(self, self.size, list(leaves))
        edge = dict(self.edge)
        for level, index, value in nodes:
            edge[level] = (index, value)
        return TreeTail(self.size + len(leaves), previous, edge), nodes, gaps


def leaf_hashes(
    items: Sequence[Projectable],
    first_leaf: int,
    mask: Mask = HIDDEN,
    data: Mapping[int, str] | None = None,
) -> list[bytes]:
    """The leaves of ``items``, the first of them leaf ``first_leaf`` (``data``: the
    canonical data texts the projection made already, by log position)."""
    made = data or {}
    return [
        leaf_hash(first_leaf + offset + 1, item, mask, made.get(item.position))
        for offset, item in enumerate(items)
    ]


def leaf_hash(
    tree_position: int, item: Projectable, mask: Mask = HIDDEN, data: str | None = None
) -> bytes:
    """The tree leaf (format 2) of an event: its stored record and its audit record
    (``data``: the canonical text of its audit data, when the projection made it)."""
    stored: Notification | None = item.stored
    if stored is None:
        raise ValueError("the Merkle tree needs the stored record of every event")
    leaf = event_leaf_v2(
        tree_position,
        str(stored.originator_id),
        stored.originator_version,
        stored.topic,
        stored.state,
        record_text(item, tree_position, mask, data),
    )
    return rfc_leaf_hash(leaf)


def edge_keys(size: int) -> list[tuple[int, int]]:
    """The last node of every level of a tree of ``size`` leaves."""
    return [(level, (size >> level) - 1) for level in range(size.bit_length()) if size >> level]


def load_tail(cursor: Any, dialect: sql.Dialect) -> TreeTail:
    """The tail of the tree as stored (inside the caller's transaction)."""
    cursor.execute(dialect.sql(TREE_TOP))
    row = cursor.fetchone()
    top = None if row is None else row["top"]
    if top is None:
        return TreeTail()
    size = int(top) + 1
    keys = edge_keys(size)
    cursor.execute(dialect.sql(select_nodes(len(keys))), [v for key in keys for v in key])
    edge = {row["level"]: (row["idx"], bytes(row["hash"])) for row in cursor.fetchall()}
    if len(edge) != len(keys):
        raise LookupError("the Merkle tree lacks nodes: rebuild the projections")
    cursor.execute(dialect.sql(LAST_GAP), (size - 1,))
    gap = cursor.fetchone()
    runs = () if gap is None else ((int(gap["leaf"]), int(gap["position"])),)
    return TreeTail(size, LeafPositions(runs).position(size - 1), edge)


class MerkleWriter:
    """Appends each batch's events to the tree, in the batch's transaction.

    Use: under ``lock``, inside the transaction and after its tracking row,
    :meth:`append`; after the commit :meth:`committed`, after a failure :meth:`forget`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._tail: TreeTail | None = None
        self._pending: TreeTail | None = None
        self._pending_nodes: list[Node] = []

    def append(
        self,
        cursor: Any,
        dialect: sql.Dialect,
        items: Sequence[Projectable],
        mask: Mask = HIDDEN,
        data: Mapping[int, str] | None = None,
    ) -> None:
        """Insert the leaves of ``items`` and the nodes they complete (``mask``: the
        views' mask, which digests secret values in the audit records; ``data``: the
        audit data texts the batch's projection made already, by log position).

        Raises ``IntegrityError`` (the batch then changes nothing) when the tree has the
        first of ``items`` already: another worker appended it.
        """
        if not items:
            return
        first = items[0].position
        tail = self._tail
        if tail is None or first != tail.last_position + 1:
            tail = load_tail(cursor, dialect)
            if first <= tail.last_position:
                raise IntegrityError(f"the Merkle tree has log position {first} already")
        self._insert(cursor, dialect, *tail.grow(items, mask, data))

    def append_leaves(
        self,
        cursor: Any,
        dialect: sql.Dialect,
        positions: Sequence[int],
        leaves: Sequence[bytes],
        first_leaf: int,
    ) -> None:
        """:meth:`append` for leaves hashed elsewhere (a rebuild's other processes), the
        first of them leaf ``first_leaf``: ``IntegrityError`` when the tree is not of that
        size (another worker appended) or has the first position already."""
        if not positions:
            return
        tail = self._tail
        if tail is None or positions[0] != tail.last_position + 1:
            tail = load_tail(cursor, dialect)
        if positions[0] <= tail.last_position or tail.size != first_leaf:
            raise IntegrityError(f"the Merkle tree has log position {positions[0]} already")
        self._insert(cursor, dialect, *tail.grow_by(positions, leaves))

    def _insert(
        self,
        cursor: Any,
        dialect: sql.Dialect,
        grown: TreeTail,
        nodes: list[Node],
        gaps: list[Gap],
    ) -> None:
        cursor.executemany(dialect.sql(INSERT_NODE), nodes)
        if gaps:
            cursor.executemany(dialect.sql(INSERT_GAP), gaps)
        self._pending = grown
        self._pending_nodes = nodes

    def committed(self) -> tuple[int, list[Node]]:
        """The batch is stored: the tree's size now and the nodes the batch added."""
        if self._pending is not None:
            self._tail, self._pending = self._pending, None
        nodes, self._pending_nodes = self._pending_nodes, []
        return (0 if self._tail is None else self._tail.size), nodes

    def forget(self) -> None:
        """Drop what is cached: the next batch reads the tail from the tables."""
        self._tail = self._pending = None
        self._pending_nodes = []
