"""Rebuilding the views from log position 0 (``ledgerd projections rebuild``), in bulk.

The live :class:`~projections.worker.ProjectionWorker` reads small batches and hands each
batch's audit entries to listeners. A rebuild has no listeners and reads the whole log
once, so it:

- reads the log in pages of :data:`REBUILD_PAGE` events (bounded: memory stays flat
  whatever the log's length) and applies each page with
  :meth:`~projections.store.LedgerViews.apply_bulk`: the live path's rows, tree nodes
  and tracking row, in ONE transaction per page, so each page is applied exactly once;
- decodes with :class:`~projections.decoding.EventDecoder`: the application mapper's
  result, with less work per event;
- writes within :meth:`~projections.store.LedgerViews.rebuilding` (on SQLite: no fsync
  per page; see there), with the garbage collector run once per page;
- on a long log, leaves the decoding, projecting and leaf hashing of each page to worker
  processes, one per core (:mod:`projections.rebuild_pool`), and only reads the log and
  writes the prepared pages, in log order: the same statements and leaves.

A rebuild cut short by a crash, a kill or a power cut leaves views that a rebuild run
again from position 0 replaces whole.

The result is the live projection's rows exactly (the equivalence tests compare every
table, the Merkle tree's included).
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking

from projections import rebuild_pool
from projections.audit import projectable
from projections.decoding import EventDecoder
from projections.rebuild_pool import PreparedPage
from projections.store import LedgerViews

REBUILD_PAGE = 5000
"""Events read, decoded and applied per transaction (a few MB of Python objects)."""
PARALLEL_FROM = 20_000
"""Logs at least this long are prepared in worker processes: below it, starting them
costs more than they save."""


def rebuild(
    ledger_app: Application[Any],
    views: LedgerViews,
    page: int = REBUILD_PAGE,
    workers: int | None = None,
    parallel_from: int = PARALLEL_FROM,
) -> int:
    """Empty the views and project the whole log again; return the events applied here.

    ``workers`` processes (default: one per core) prepare the pages of a log of at least
    ``parallel_from`` events (see :mod:`projections.rebuild_pool`); with one, or a
    shorter log, this process does all. Stop the worker of these views first. Should
    another process's worker project into the same views meanwhile (PostgreSQL), the pages
    it applied first are skipped, as the live worker does: each event is still applied once.
    """
    workers = rebuild_pool.worker_count() if workers is None else workers
    views.reset(ledger_app.name)
    with views.rebuilding(), _collected_per_page():
        applied = cursor = 0
        if workers > 1 and (ledger_app.recorder.max_notification_id() or 0) >= parallel_from:
            applied, cursor = _in_parallel(ledger_app, views, page, workers)
        return applied + _in_order(ledger_app, views, page, cursor)


def _in_order(ledger_app: Application[Any], views: LedgerViews, page: int, cursor: int) -> int:
    """Apply the log after ``cursor``, page by page, all in this process."""
    name = ledger_app.name
    recorder = ledger_app.recorder
    decode = EventDecoder(ledger_app.mapper)
    applied = 0
    while True:
        stored = recorder.select_notifications(start=cursor, limit=page, inclusive_of_start=False)
        if not stored:
            return applied
        items = [projectable(n, decode) for n in stored]
        fetched, last = len(items), items[-1].position
        try:
            views.apply_bulk(items, Tracking(name, last))
        except IntegrityError as error:
            cursor = _rival_progress(views, name, cursor, error)
            continue
        finally:
            del items, stored  # before the next page is read: one page in memory
            gc.collect(1)
        applied += fetched
        cursor = last
        if fetched < page:
            return applied


def _in_parallel(
    ledger_app: Application[Any], views: LedgerViews, page: int, workers: int
) -> tuple[int, int]:
    """Apply the log's pages as ``workers`` processes prepare them, in log order, with at
    most two pages per worker in memory. Returns the events applied and the position
    reached: the end of the log, or where another worker's progress was found (the rest
    is then applied in order)."""
    name = ledger_app.name
    recorder = ledger_app.recorder
    applied = cursor = read = leaf = 0
    queued: deque[Future[PreparedPage]] = deque()
    with rebuild_pool.pool(ledger_app, views.mask, workers) as processes:
        ended = False
        while True:
            while not ended and len(queued) < 2 * workers:
                stored = recorder.select_notifications(
                    start=read, limit=page, inclusive_of_start=False
                )
                ended = len(stored) < page
                if stored:
                    records = rebuild_pool.plain(stored)
                    queued.append(processes.submit(rebuild_pool.prepare, records, leaf))
                    read, leaf = stored[-1].id, leaf + len(stored)
                del stored
            if not queued:
                return applied, cursor
            prepared = queued.popleft().result()
            try:
                views.apply_prepared(prepared, Tracking(name, prepared.last))
            except IntegrityError as error:
                for future in queued:
                    future.cancel()
                return applied, _rival_progress(views, name, cursor, error)
            applied += len(prepared.positions)
            cursor = prepared.last
            del prepared
            gc.collect(1)


def _rival_progress(views: LedgerViews, name: str, cursor: int, error: IntegrityError) -> int:
    """Where another worker's progress put the views, past ``cursor``; if none, the
    batch was refused for another reason: a real inconsistency, ``error`` is raised."""
    tracked = views.max_tracking_id(name) or 0
    if tracked <= cursor:
        raise error
    return tracked


@contextmanager
def _collected_per_page() -> Iterator[None]:
    """The garbage collector off, for the caller to collect after each page.

    A page is thousands of young objects that reference counting frees (they form no
    cycles), but the collector would scan them, and everything older, again and again
    as they are made: about a sixth of a rebuild's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
