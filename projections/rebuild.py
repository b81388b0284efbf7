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
  per page; see there), with the garbage collector run once per page.

A rebuild cut short by a crash, a kill or a power cut leaves views that a rebuild run
again from position 0 replaces whole.

The result is the live projection's rows exactly (the equivalence tests compare every
table, the Merkle tree's included).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking

from projections.audit import projectable
from projections.decoding import EventDecoder
from projections.store import LedgerViews

REBUILD_PAGE = 5000
"""Events read, decoded and applied per transaction (a few MB of Python objects)."""


def rebuild(ledger_app: Application[Any], views: LedgerViews, page: int = REBUILD_PAGE) -> int:
    """Empty the views and project the whole log again; return the events applied here.

    Stop the worker of these views first. Should another process's worker project into
    the same views meanwhile (PostgreSQL), the pages it applied first are skipped, as the
    live worker does: each event is still applied once.
    """
    name = ledger_app.name
    recorder = ledger_app.recorder
    decode = EventDecoder(ledger_app.mapper)
    views.reset(name)
    applied = cursor = 0
    with views.rebuilding(), _collected_per_page():
        while True:
            stored = recorder.select_notifications(
                start=cursor, limit=page, inclusive_of_start=False
            )
            if not stored:
                return applied
            items = [projectable(n, decode) for n in stored]
            fetched, last = len(items), items[-1].position
            try:
                views.apply_bulk(items, Tracking(name, last))
            except IntegrityError:
                tracked = views.max_tracking_id(name) or 0
                if tracked <= cursor:
                    raise  # not a rival worker's progress: a real inconsistency
                cursor = tracked
                continue
            finally:
                del items, stored  # before the next page is read: one page in memory
                gc.collect(1)
            applied += fetched
            cursor = last
            if fetched < page:
                return applied


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
