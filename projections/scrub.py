"""Scrubbing: the stored events hashed again and compared with the Merkle tree's leaves.

The tree (:mod:`projections.merkle`) committed to each record as it was when projected;
the event store may have changed since (a flipped bit, an edited, deleted or inserted
row). Nothing else reads old records again: the views keep what they projected, proofs
come from the tree, so without a scrub a damaged record goes unnoticed until someone
exports and verifies the whole log.

A scrub walks a range of leaves in log order and stops at the first record that no longer
matches: one whose hash differs from its leaf (topic, ids, version or state changed), one
that no longer decodes, a leaf whose record is gone, or a record where the tree has no
leaf (a log position PostgreSQL had skipped). Every leaf is computed by ONE injected
:data:`LeafHasher` (built in :mod:`server.infra.scrubbing`), so the comparison follows the
leaf format wherever that is defined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.persistence import Notification

from projections.merkle import LeafPositions

LeafHasher = Callable[[int, Notification, Any], bytes]
"""(tree position, the stored record, the record decoded) -> the leaf hash it must have."""
Decode = Callable[[Notification], Any]
"""The stored record decoded (raises when it no longer decodes)."""
PAGE = 1000  # leaves compared per query pair (one of the tree, one of the store)

CHANGED = "its hash differs from the tree's leaf: its topic, ids, version or state changed"
DELETED = "the tree has a leaf here but the store no longer has the record (deleted)"
INSERTED = "the store has a record here but the tree has no leaf (inserted)"
LEAFLESS = "the tree lacks this leaf: rebuild the projections, then scrub again"


class Tree(Protocol):
    """The tree's reads a scrub needs (the views are one)."""

    def tree_size(self) -> int: ...

    def leaf_positions(self) -> LeafPositions: ...

    def leaf_hashes(self, first: int, end: int) -> dict[int, bytes]: ...


class Records(Protocol):
    """The event store's reads a scrub needs (an eventsourcing recorder is one)."""

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]: ...


@dataclass(frozen=True)
class Mismatch:
    """The first place where the store and the tree disagree."""

    position: int  # tree position (1 = the log's first event)
    log_position: int
    problem: str

    def __str__(self) -> str:
        where = f"position {self.position}"
        if self.log_position != self.position:
            where += f" (log position {self.log_position})"
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class Outcome:
    """What a scrub compared: leaves ``first`` to ``end - 1`` of a tree of ``size``."""

    size: int
    first: int
    end: int
    mismatch: Mismatch | None

    @property
    def checked(self) -> int:
        return self.end - self.first


class Scrub:
    """Compares stored records with the tree's leaves (see the module doc)."""

    def __init__(
        self, tree: Tree, records: Records, decode: Decode, leaf_of: LeafHasher, page: int = PAGE
    ) -> None:
        self.tree = tree
        self.records = records
        self.decode = decode
        self.leaf_of = leaf_of
        self.page = page

    def last(self, count: int) -> Outcome:
        """The newest ``count`` leaves (all of them for a count at least the size)."""
        size = self.tree.tree_size()
        return self.leaves(max(size - count, 0), size, size)

    def leaves(self, first: int, end: int, size: int) -> Outcome:
        """Leaves ``first`` to ``end - 1`` (clipped to the tree of ``size``)."""
        first, end = max(first, 0), min(end, size)
        positions = self.tree.leaf_positions()
        for start in range(first, end, self.page):
            mismatch = self._page(positions, start, min(start + self.page, end))
            if mismatch is not None:
                return Outcome(size, first, mismatch.position - 1, mismatch)
        return Outcome(size, first, max(end, first), None)

    def _page(self, positions: LeafPositions, first: int, end: int) -> Mismatch | None:
        hashes = self.tree.leaf_hashes(first, end)
        start, stop = positions.position(first), positions.position(end - 1)
        stored = self.records.select_notifications(start, stop - start + 1, stop)
        expected = first
        for record in stored:
            leaf = positions.leaf(record.id)
            if positions.position(leaf) != record.id:
                return Mismatch(leaf + 1, record.id, INSERTED)
            if leaf > expected:
                return Mismatch(expected + 1, positions.position(expected), DELETED)
            problem = self._compare(leaf, record, hashes.get(leaf))
            if problem:
                return Mismatch(leaf + 1, record.id, problem)
            expected = leaf + 1
        if expected < end:
            return Mismatch(expected + 1, positions.position(expected), DELETED)
        return None

    def _compare(self, leaf: int, record: Notification, recorded: bytes | None) -> str:
        if recorded is None:
            return LEAFLESS
        try:
            event = self.decode(record)
        except Exception as error:  # any failure to decode is this record's finding
            # The class only: a decoder's message may quote the record's content.
            return f"the record no longer decodes ({type(error).__name__})"
        if self.leaf_of(leaf + 1, record, event) != recorded:
            return CHANGED
        return ""
