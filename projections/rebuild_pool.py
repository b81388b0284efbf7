"""A rebuild's CPU work on every core: pages decoded, projected and hashed in other processes.

What a page of the log becomes in the views (its row writes, and its Merkle leaves) is a
pure function of the page's stored records, the views' mask and the page's first tree
position (:func:`~projections.pending.project_batch`, :func:`~projections.merkle.leaf_hashes`).
So a rebuild hands the pages it reads to a pool of processes, which decode, project and
hash them (:func:`prepare`) while it writes the pages already prepared, in log order, each
in one transaction with its tracking row (:meth:`~projections.store.LedgerViews.apply_prepared`).
The process that writes does only what must be done in order: reading the log, the SQL,
the tree's inner nodes.

A worker process starts fresh (``spawn``: nothing of the parent's threads, connections or
locks comes with it) and decodes with an application of the ledger's class on in-memory
persistence, made from the ledger's env: the same transcoder, cipher and compressor, and
no database. Records and prepared pages cross as plain data (bytes, strings, numbers).
As with any use of ``spawn``, a worker imports the main module of the program that started
it: a program that rebuilds must keep its work under ``if __name__ == "__main__":``
(``ledgerd``, pytest and every script of the project do).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from ledger.domain.secrecy import Mask
from projections.audit import projectable
from projections.decoding import EventDecoder
from projections.merkle import leaf_hashes
from projections.pending import project_batch

Statements = list[tuple[str, list[tuple[object, ...]]]]
Record = tuple[int, Any, int, str, bytes]
"""A stored event as it crosses to a worker: id, originator id, version, topic, state."""


@dataclass(frozen=True)
class PreparedPage:
    """A page of the log as the views take it: the statements that write its rows, the
    log positions of its events, their leaves, and the first leaf's index."""

    statements: Statements
    positions: list[int]
    leaves: list[bytes]
    first_leaf: int

    @property
    def last(self) -> int:
        """The log position of the page's last event: the tracking row's."""
        return self.positions[-1]


class _Worker:
    """What one worker process needs: the decoder and the mask (set by :func:`_start`)."""

    decode: EventDecoder | None = None
    mask: Mask | None = None


def _start(app_class: type[Application[Any]], env: Mapping[str, str], mask: Mask) -> None:
    in_memory = {**env, "PERSISTENCE_MODULE": "eventsourcing.popo"}
    _Worker.decode = EventDecoder(app_class(env=in_memory).mapper)
    _Worker.mask = mask


def plain(stored: Sequence[Notification]) -> list[Record]:
    """Records as plain tuples, which cross to a worker process several times faster
    than the library's objects (a UUID goes as its 16 bytes)."""
    return [
        (
            n.id,
            n.originator_id.bytes if isinstance(n.originator_id, UUID) else n.originator_id,
            n.originator_version,
            n.topic,
            n.state,
        )
        for n in stored
    ]


def _notification(record: Record) -> Notification:
    id_, originator_id, version, topic, state = record
    if isinstance(originator_id, bytes):
        originator_id = UUID(bytes=originator_id)
    return Notification(
        id=id_, originator_id=originator_id, originator_version=version, topic=topic, state=state
    )


def prepare(records: Sequence[Record], first_leaf: int) -> PreparedPage:
    """The page of ``records`` (made by :func:`plain`; its first event leaf
    ``first_leaf``) as the views take it. Runs in a worker process (after :func:`_start`)."""
    decode, mask = _Worker.decode, _Worker.mask
    assert decode is not None and mask is not None, "not a rebuild's worker process"
    items = [projectable(_notification(record), decode) for record in records]
    pending, _, data = project_batch(items, with_views=False, mask=mask)
    return PreparedPage(
        statements=[(statement, list(rows)) for statement, rows in pending.statements()],
        positions=[item.position for item in items],
        leaves=leaf_hashes(items, first_leaf, mask, data),
        first_leaf=first_leaf,
    )


def worker_count() -> int:
    """One worker per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def pool(ledger_app: Application[Any], mask: Mask, workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes ready to :func:`prepare` pages of ``ledger_app``'s log."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_start,
        initargs=(type(ledger_app), dict(ledger_app.env), mask),
    )
