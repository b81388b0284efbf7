"""The log's tamper evidence as the API serves it: signed checkpoints, proofs, raw records.

The Merkle tree is the projection's (:mod:`projections.merkle`); this module signs its root
on demand (once per tree size, cached) and answers RFC 9162 proofs from its nodes. The
records of an export are read from the event store itself, never from the projection:
an auditor compares what is stored now with what the tree committed to. Each comes with
its audit record (who did what), made from the stored event by the same function as the
tree's leaf (:func:`projections.audit.audit_record`), so it is exactly what is signed.

The checkpoints' origin is ``<LEDGER_LOG_ORIGIN>/v2``: the tree's leaves are format 2
(:mod:`transparency.leaf_v2`), and a log of format 1 leaves was signed as
``<LEDGER_LOG_ORIGIN>`` (see :mod:`server.infra.log_upgrade` for the link between them).

Positions here are *tree positions* (1 = the log's first event, the position inside each
leaf). They are the log positions that ListEvents shows, except after PostgreSQL skipped
log positions (a failed write); exported records carry both.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification

from ledger.domain.base import event_type
from ledger.errors import InvalidArgument
from projections.audit import audit_record, projectable
from projections.decoding import EventDecoder
from projections.store import LedgerViews
from transparency import Checkpoint, MerkleTree, PrivateKey, PublicKey, sign
from transparency.leaf_v2 import canonical
from transparency.leaf_v2 import origin as v2_origin

log = logging.getLogger(__name__)
CACHED_CHECKPOINTS = 64
EXPORT_BYTES = 2 * 1024 * 1024  # state bytes per export page, well under gRPC's 4 MiB


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint and its signed note text."""

    checkpoint: Checkpoint
    text: str


@dataclass(frozen=True)
class ExportedRecord:
    """One event exactly as stored, where it is in the tree and its signed audit record."""

    position: int  # tree position
    log_position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    type: str
    # The audit record the leaf signs (transparency.leaf_v2); None when the stored state
    # no longer decodes (edited in the store): the export still shows what is stored,
    # and the auditor's verification names the position.
    record: dict[str, Any] | None
    proof: tuple[bytes, ...]  # inclusion proof in the export's tree size, if asked

    @property
    def record_text(self) -> str:
        """The record's canonical JSON text, as the leaf holds it ("" without one)."""
        return "" if self.record is None else canonical(self.record)


class AuditLog:
    """Checkpoints, proofs and exports of one ledger (one per ``ledgerd`` process).

    Every ``ledgerd`` of a ledger signs with the same key (see :mod:`server.infra.signing`);
    each signs the sizes it is asked for, so two processes may sign one size at different
    times: both checkpoints are valid and consistent with each other.
    """

    def __init__(
        self,
        views: LedgerViews,
        recorder: ApplicationRecorder,
        key: PrivateKey,
        origin: str,
        mapper: Mapper[Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.views = views
        self.recorder = recorder
        self.key = key
        self.public_key: PublicKey = key.public_key()
        self.origin = v2_origin(origin)  # ``origin`` is the ledger's name (LEDGER_LOG_ORIGIN)
        self.decode = EventDecoder(mapper)
        self.clock = clock
        self._signed: OrderedDict[int, SignedCheckpoint] = OrderedDict()
        self._lock = threading.Lock()

    def checkpoint(self) -> SignedCheckpoint:
        """The signed checkpoint of the tree as projected now."""
        size = self.views.tree_size()
        with self._lock:
            cached = self._signed.get(size)
        if cached is not None:
            return cached
        root = self.views.tree(size, lambda tree: tree.root()).root()
        checkpoint = Checkpoint(self.origin, size, root, self.clock())
        signed = SignedCheckpoint(checkpoint, sign(checkpoint, self.key))
        with self._lock:
            signed = self._signed.setdefault(size, signed)
            while len(self._signed) > CACHED_CHECKPOINTS:
                self._signed.popitem(last=False)
        return signed

    def inclusion_proof(
        self, position: int, tree_size: int = 0
    ) -> tuple[int, list[bytes], SignedCheckpoint | None]:
        """(tree size, PATH of leaf ``position - 1``, the checkpoint when tree_size is 0)."""
        if position < 1:
            raise InvalidArgument("position must be at least 1 (the log's first event)")
        _not_negative(tree_size, "tree_size")

        def resolve(current: int) -> int:
            size = _within(tree_size or current, current, "tree_size")
            if position > size:
                raise InvalidArgument(f"position {position} is beyond the tree of size {size}")
            return size

        def use(tree: MerkleTree) -> list[bytes]:
            return tree.inclusion_proof(position - 1, tree.size)

        signed, tree = self._tree(tree_size, resolve, use)
        return tree.size, use(tree), signed

    def cached_inclusion_proof(self, position: int, tree_size: int) -> list[bytes] | None:
        """The inclusion proof from memory alone (no query: callable on the event loop),
        or None when it needs the database (or the request is invalid: the full path
        says why)."""
        if not 1 <= position <= tree_size:
            return None
        index = position - 1
        tree = self.views.cached_tree(tree_size, lambda t: t.inclusion_proof(index, tree_size))
        return None if tree is None else tree.inclusion_proof(index, tree_size)

    def consistency_proof(
        self, old_size: int, new_size: int = 0
    ) -> tuple[int, list[bytes], SignedCheckpoint | None]:
        """(new size, PROOF(old_size, new_size), the checkpoint when new_size is 0)."""
        _not_negative(old_size, "old_size")
        _not_negative(new_size, "new_size")

        def resolve(current: int) -> int:
            size = _within(new_size or current, current, "new_size")
            if old_size > size:
                raise InvalidArgument(f"old_size {old_size} is larger than new_size {size}")
            return size

        def use(tree: MerkleTree) -> list[bytes]:
            return tree.consistency_proof(old_size, tree.size)

        signed, tree = self._tree(new_size, resolve, use)
        return tree.size, use(tree), signed

    def resolve_size(self, tree_size: int) -> int:
        """``tree_size``, or the current size for 0; INVALID_ARGUMENT beyond the tree."""
        _not_negative(tree_size, "tree_size")
        current = self.views.tree_size()
        return _within(tree_size or current, current, "tree_size")

    def export(
        self, first: int, size: int, limit: int, *, after: int = 0, with_proofs: bool = False
    ) -> tuple[list[ExportedRecord], bool]:
        """Stored records of tree positions ``first``..``size`` in log order, at most
        ``limit`` (and about :data:`EXPORT_BYTES` of state), and whether more follow.

        ``after``, a log position, resumes after the last record of a previous page
        instead of ``first``. Records are whatever the store holds now: a record deleted
        from the store is absent, one added is present with the position it would take.
        """
        if size == 0 or first > size:
            return [], False
        positions = self.views.leaf_positions()
        start = after + 1 if after else positions.position(max(first, 1) - 1)
        stop = positions.position(size - 1)
        if start > stop:
            return [], False
        stored = self.recorder.select_notifications(start=start, limit=limit + 1, stop=stop)
        kept: list[Notification] = []
        budget = EXPORT_BYTES
        for notification in stored[:limit]:
            if kept and budget < len(notification.state):
                break
            budget -= len(notification.state)
            kept.append(notification)
        leaves = [positions.leaf(n.id) for n in kept]
        proofs = self._proofs(leaves, size) if with_proofs else {}
        records = [
            ExportedRecord(
                position=leaf + 1,
                log_position=n.id,
                originator_id=str(n.originator_id),
                originator_version=n.originator_version,
                topic=n.topic,
                state=bytes(n.state),
                type=event_type(n.topic),
                record=self._record(n, leaf + 1),
                proof=proofs.get(leaf, ()),
            )
            for n, leaf in zip(kept, leaves, strict=True)
        ]
        return records, len(stored) > len(kept)

    def _proofs(self, leaves: Sequence[int], size: int) -> dict[int, tuple[bytes, ...]]:
        wanted = sorted(set(leaves))
        tree = self.views.tree(size, lambda t: [t.inclusion_proof(i, size) for i in wanted])
        return {i: tuple(tree.inclusion_proof(i, size)) for i in wanted}

    def _record(self, stored: Notification, tree_position: int) -> dict[str, Any] | None:
        try:
            item = projectable(stored, self.decode)
        except Exception:  # whatever a tampered state makes the mapper raise
            log.warning(
                "the event at log position %d does not decode: exported as stored", stored.id
            )
            return None
        return audit_record(item, tree_position, self.views.mask)

    def _tree(
        self, requested: int, resolve: Callable[[int], int], use: Callable[[MerkleTree], object]
    ) -> tuple[SignedCheckpoint | None, MerkleTree]:
        """The tree ``use`` needs: of the requested size (one read transaction), or of the
        current checkpoint's for 0, with that checkpoint."""
        if requested:
            return None, self.views.tree_at(resolve, use)
        signed = self.checkpoint()
        return signed, self.views.tree(resolve(signed.checkpoint.size), use)


def _not_negative(value: int, name: str) -> None:
    if value < 0:
        raise InvalidArgument(f"{name} must not be negative")


def _within(size: int, current: int, name: str) -> int:
    if size > current:
        raise InvalidArgument(f"{name} {size} is beyond the tree of size {current}")
    return size
