"""Rebuilding the views from log position 0 (``ledgerd projections rebuild``), in bulk.

The live :class:`~projections.worker.ProjectionWorker` reads small batches and hands each
batch's audit entries to listeners. A rebuild has no listeners and reads the whole log
once, so it:

- reads the log in pages of :data:`REBUILD_PAGE` events (bounded: memory stays flat
  whatever the log's length) and applies each page with
  :meth:`~projections.store.LedgerViews.apply_bulk`: the live path's rows, tree nodes
  and tracking row, in ONE transaction per page, so each page is applied exactly once;
- decodes with :class:`EventDecoder`: the application mapper's steps, with what depends
  only on the topic looked up once per topic;
- writes within :meth:`~projections.store.LedgerViews.rebuilding` (on SQLite: no fsync
  per page, a bigger page cache; see there). A rebuild cut short by a crash, a kill or a
  power cut leaves views that a rebuild run again from position 0 replaces whole.

The result is the live projection's rows exactly (the equivalence tests compare every
table, the Merkle tree's included).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Tracking,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

from ledger.domain.base import event_type
from projections.audit import Projectable
from projections.store import LedgerViews

REBUILD_PAGE = 5000
"""Events read, decoded and applied per transaction (a few MB of Python objects)."""

Event = DomainEventProtocol[Any]
Convert = Callable[[Any], Any]


class EventDecoder:
    """``mapper.to_domain_event``, at a lower cost per event, with the same result.

    The steps are the library's (``eventsourcing.persistence.Mapper.to_domain_event``):
    decrypt, decompress, the transcoder's JSON decoding, the id conversion, upcasting.
    What depends only on the topic (the class, its id conversion, its class version) is
    looked up once per topic, and the JSON text goes straight to the transcoder's own
    scanner (its object hook included) without the ``json`` module's Python wrapper.
    Anything unusual (another mapper or transcoder, a state that fails to decode, text
    after the JSON value) is handed to ``mapper.to_domain_event``, which decodes it or
    raises its own error.
    """

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        self._classes: dict[tuple[str, type[Any]], tuple[type[Any], Convert, int]] = {}
        transcoder = mapper.transcoder
        plain = (
            type(mapper).to_domain_event is Mapper.to_domain_event
            and isinstance(transcoder, JSONTranscoder)
            and type(transcoder).decode is JSONTranscoder.decode
        )
        self._scan: Callable[[str, int], tuple[Any, int]] | None = (
            getattr(transcoder.decoder, "scan_once", None) if plain else None  # type: ignore[attr-defined]
        )

    def __call__(self, stored: StoredEvent) -> Event:
        scan = self._scan
        if scan is None:
            return self.mapper.to_domain_event(stored)
        key = (stored.topic, type(stored.originator_id))
        known = self._classes.get(key)
        if known is None:
            known = self._classes[key] = self._learn(*key)
        cls, convert, class_version = known
        try:
            state = stored.state
            if self.mapper.cipher:
                state = self.mapper.cipher.decrypt(state)
            if self.mapper.compressor:
                state = self.mapper.compressor.decompress(state)
            text = state.decode("utf8")
            data, end = scan(text, 0)
        except Exception:  # the library's decoding says what is wrong, or copes
            return self.mapper.to_domain_event(stored)
        if end != len(text) or type(data) is not dict:
            return self.mapper.to_domain_event(stored)
        data["originator_id"] = convert(stored.originator_id)
        data["originator_version"] = stored.originator_version
        version = data.pop("class_version", 1)
        while version < class_version:
            getattr(cls, f"upcast_v{version}_v{version + 1}")(data)
            version += 1
        event: Event = object.__new__(cls)
        object.__setattr__(event, "__dict__", data)
        return event

    @staticmethod
    def _learn(topic: str, id_type: type[Any]) -> tuple[type[Any], Convert, int]:
        cls = resolve_topic(topic)
        return (
            cls,
            find_id_convertor(cls, cast(Hashable, id_type)),
            getattr(cls, "class_version", 1),
        )


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
            items = [Projectable(n.id, event_type(n.topic), decode(n), n) for n in stored]
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
