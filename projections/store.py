"""The materialised views: eventsourcing tracking recorders that also own the view tables.

:class:`LedgerViews` holds everything that does not depend on the database: applying a
batch of events (row changes plus the tracking row, in ONE transaction, so a batch is
applied exactly once), emptying the views for a rebuild, and (from
:class:`~projections.queries.ReadQueries`) the queries of ``ReadModel``.
:class:`~projections.databases.SQLiteLedgerViews` and
:class:`~projections.databases.PostgresLedgerViews` add only the driver glue: how to open a
transaction, how to record tracking, where the tables live.

A ``LedgerViews`` *is* a ``ReadModel``. ``wait_for`` uses the condition variable of the
:class:`~projections.worker.ProjectionWorker` running in this process when one is
attached (``views.waiter``), else polls the tracking row (another process projects).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from eventsourcing.persistence import (
    Tracking,
    TrackingRecorder,
)

from ledger.domain.secrecy import HIDDEN, Mask
from ledger.views import EventView
from projections import rows, sql
from projections.audit import Projectable
from projections.merkle import MerkleWriter
from projections.pending import PendingWrites, project_batch
from projections.queries import ReadQueries
from projections.rebuild_pool import PreparedPage
from projections.tree_queries import NodeCache, TreeQueries

UPSTREAM = "Ledger"  # LedgerApplication.name: the tracking row we read and write


class Waiter(Protocol):
    """Something that knows when a position is projected (the worker in this process)."""

    def wait_for(self, position: int, timeout: float = 5.0) -> bool: ...


class CommitObserver(Protocol):
    """Told of each batch before it commits, and right after, before its position is made
    known (a failed batch is not told of again: the worker projects it later)."""

    def committing(self, apps: Collection[str]) -> None:
        """A batch changing views of ``apps`` is about to commit."""

    def committed(self, apps: Collection[str], first: int, last: int) -> None:
        """The batch of positions ``first`` to ``last`` changed views of ``apps``."""

    def emptied(self) -> None:
        """Every view was emptied (a rebuild follows)."""


class LedgerViews(ReadQueries, TreeQueries, TrackingRecorder, ABC):
    """Projection tables with exactly-once tracking, and the read model over them.

    The tables include the log's Merkle tree (:mod:`projections.merkle`), extended by
    every batch in the batch's transaction.
    """

    upstream: str = UPSTREAM
    waiter: Waiter | None = None
    mask: Mask = HIDDEN  # what secret values become in the audit timeline

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.merkle = MerkleWriter()
        self.node_cache = NodeCache()
        self.observers: list[CommitObserver] = []  # e.g. the hot views in memory

    @abstractmethod
    def _track(self, cursor: Any, tracking: Tracking) -> None:
        """Record ``tracking`` with the library's insert (IntegrityError if not newer)."""

    @property
    @abstractmethod
    def tracking_table(self) -> str: ...

    @abstractmethod
    def close(self) -> None:
        """Close the database connections."""

    # -- writing ------------------------------------------------------------------------

    def apply_batch(
        self, items: Sequence[Projectable], tracking: Tracking, *, with_views: bool = True
    ) -> list[EventView]:
        """Apply events in one transaction that also records ``tracking`` (the last id).

        Raises ``eventsourcing.persistence.IntegrityError`` and changes nothing when the
        tracking row is already at or past ``tracking`` or an event was applied already.
        Returns the audit entries of the batch, oldest first (none unless ``with_views``).
        """
        pending, views, data = self._project(items, with_views)
        apps = {getattr(item.event, "app", "") for item in items}
        for observer in self.observers:
            observer.committing(apps)
        with self.merkle.lock:
            self._commit(pending, tracking, items, data)
            size, nodes = self.merkle.committed()
            # Proofs of recent events, the ones most asked for, need no query.
            self.node_cache.remember({(level, index): node for level, index, node in nodes})
            self.node_cache.saw_size(size)
        first = items[0].position if items else tracking.notification_id
        for observer in self.observers:  # before the worker makes the position known
            observer.committed(apps, first, tracking.notification_id)
        return views

    def reset(self, application_name: str = "") -> None:
        """Empty every view table and forget the position: the next catch-up rebuilds."""
        with self.merkle.lock, self._transaction(commit=True) as cursor:
            self.merkle.forget()
            self.node_cache.forget()
            for table in sql.TABLES:
                cursor.execute(f"DELETE FROM {self.dialect.table(table)}")
            cursor.execute(
                f"DELETE FROM {self.tracking_table} WHERE application_name = "
                + self.dialect.placeholder,
                (application_name or self.upstream,),
            )
        for observer in self.observers:
            observer.emptied()

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every view table, in a stable order (for tests and audits)."""
        with self._transaction(commit=False) as cursor:
            dumped = {}
            for table in sql.TABLES:
                cursor.execute(f"SELECT * FROM {self.dialect.table(table)} ORDER BY 1, 2")
                dumped[table] = [tuple(rows.values(row)) for row in cursor.fetchall()]
            return dumped

    def apply_bulk(self, items: Sequence[Projectable], tracking: Tracking) -> None:
        """:meth:`apply_batch` for a rebuild (same rows, same transaction, same errors), but
        no audit entries are made and the tree's node cache is not fed: a rebuild writes
        the whole log once, and nobody reads those nodes meanwhile."""
        pending, _, data = self._project(items, with_views=False)
        with self.merkle.lock:
            self._commit(pending, tracking, items, data)
            size, _ = self.merkle.committed()
            self.node_cache.saw_size(size)

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        """Write the pages of a rebuild within this (the database may be tuned for it)."""
        yield

    def _project(
        self, items: Sequence[Projectable], with_views: bool
    ) -> tuple[PendingWrites, list[EventView], dict[int, str]]:
        return project_batch(items, with_views, self.mask)

    def apply_prepared(self, page: PreparedPage, tracking: Tracking) -> None:
        """:meth:`apply_bulk` for a page whose writes and leaves were made elsewhere (by
        :func:`~projections.rebuild_pool.prepare`, in another process): the same rows and
        nodes, in one transaction with ``tracking``; ``IntegrityError`` as there."""

        def grow(cursor: Any) -> None:
            self.merkle.append_leaves(
                cursor, self.dialect, page.positions, page.leaves, page.first_leaf
            )

        with self.merkle.lock:
            self._write_batch(page.statements, tracking, grow)
            size, _ = self.merkle.committed()
            self.node_cache.saw_size(size)

    def _commit(
        self,
        pending: PendingWrites,
        tracking: Tracking,
        items: Sequence[Projectable],
        data: Mapping[int, str],
    ) -> None:
        """One transaction: the tracking row, ``pending`` and the tree's growth by ``items``.
        The caller holds ``merkle.lock`` and calls ``merkle.committed()`` after."""

        def grow(cursor: Any) -> None:
            self.merkle.append(cursor, self.dialect, items, self.mask, data)

        self._write_batch(pending.statements(), tracking, grow)

    def _write_batch(
        self,
        statements: Sequence[tuple[str, Sequence[tuple[object, ...]]]],
        tracking: Tracking,
        grow: Callable[[Any], None],
    ) -> None:
        try:
            with self._transaction(commit=True) as cursor:
                self._track(cursor, tracking)
                for statement, rows_ in statements:
                    translated = self.dialect.sql(statement)
                    if len(rows_) == 1:
                        cursor.execute(translated, rows_[0])
                    else:
                        cursor.executemany(translated, rows_)
                grow(cursor)
        except BaseException:
            self.merkle.forget()
            raise

    def forget_memory(self) -> None:
        """Drop what is kept in memory of committed batches (the tree's right edge, its
        recent nodes, the observers' copies): the database lost some of those batches
        (a crash that lost acknowledged commits), so only the tables can say what holds."""
        with self.merkle.lock:
            self.merkle.forget()
            self.node_cache.forget()
        for observer in self.observers:
            observer.emptied()

    # -- position -----------------------------------------------------------------------

    def position(self) -> int:
        return self.max_tracking_id(self.upstream) or 0

    def tracked(self, application_name: str) -> tuple[int, object]:
        """The tracking row's position, and which run of the database server answered
        (None when it cannot change under a running process, as with a SQLite file): a
        server that restarted may have lost commits it had acknowledged."""
        return self.max_tracking_id(application_name) or 0, None

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        if self.waiter is not None:
            return self.waiter.wait_for(position, timeout)
        deadline = time.monotonic() + timeout
        while self.position() < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True
