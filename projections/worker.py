"""The projection worker: keeps the views caught up with the event log, exactly once.

SQLite cannot be subscribed to, and events may be written by other processes (a second
``ledgerd``, a CLI), so the worker pulls: it reads the log after its cursor in batches,
applies each batch in one transaction with its tracking row, then tells the listeners.
``notify()`` wakes it at once after a local command; otherwise it polls every
``poll_interval`` (on PostgreSQL too, for simplicity).

Several workers (processes) may share one views database. Exactly-once comes from the
tracking row: a batch that another worker applied first fails with ``IntegrityError``
and changes nothing; the worker re-reads the tracking position, still hands the events
the other worker applied to its own listeners, and continues after them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking

from ledger.domain.base import event_type
from ledger.views import EventView
from projections.audit import Projectable, audit_entry
from projections.store import LedgerViews

log = logging.getLogger(__name__)

EventListener = Callable[[list[EventView]], None]
"""Called by the projection worker after each committed batch, oldest first."""
MAX_BACKOFF = 5.0


class ProjectionWorker:
    """A daemon thread projecting the ledger's log into ``views``.

    While started, it is the ``waiter`` of ``views``: ``views.wait_for`` then uses this
    worker's condition variable. ``error`` holds the last processing error until a batch
    succeeds again (the thread logs it and retries with backoff, it never dies silently).
    """

    def __init__(
        self,
        ledger_app: Application[Any],
        views: LedgerViews,
        listeners: Sequence[EventListener] = (),
        batch_size: int = 500,
        poll_interval: float = 0.05,
    ) -> None:
        self.ledger = ledger_app
        self.views = views
        self.listeners: list[EventListener] = list(listeners)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.error: Exception | None = None
        self._cursor = views.max_tracking_id(ledger_app.name) or 0
        self._position = self._cursor
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._processing = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="projection-worker", daemon=True)
        self.views.waiter = self
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.views.waiter is self:
            self.views.waiter = None

    def add_listener(self, listener: EventListener) -> None:
        """Also call ``listener`` with each later batch (e.g. a WatchEvents stream)."""
        self.listeners.append(listener)

    def remove_listener(self, listener: EventListener) -> None:
        with contextlib.suppress(ValueError):
            self.listeners.remove(listener)

    def notify(self) -> None:
        """New events were written: look at the log now instead of at the next poll."""
        self._wake.set()

    # -- read-your-writes -------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The last log position this worker knows to be projected."""
        with self._changed:
            return self._position

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Block until ``position`` is projected; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._position >= position:
                return True
        self.notify()
        with self._changed:
            while self._position < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self.running:
                    self._changed.wait(remaining)
                else:  # nobody will signal: look at the tracking row ourselves
                    self._changed.wait(min(remaining, self.poll_interval))
                    self._position = max(self._position, self.views.position())
            return True

    # -- processing -------------------------------------------------------------------------

    def catch_up(self) -> int:
        """Project everything in the log now (synchronously); return how many events this
        call applied. Errors are raised, not retried."""
        applied = 0
        while True:
            done, fetched = self._step()
            applied += done
            if fetched < self.batch_size:
                return applied

    def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                _, fetched = self._step()
            except Exception as error:
                backoff = min(max(backoff * 2, 0.1), MAX_BACKOFF)
                log.exception("projection failed; retrying in %.1f s", backoff)
                self.error = error
                self._stopping.wait(backoff)
                continue
            self.error = None
            backoff = 0.0
            if fetched < self.batch_size:
                self._wake.wait(self.poll_interval)

    def _step(self) -> tuple[int, int]:
        """Read and apply one batch: (events applied here, notifications read)."""
        with self._processing:
            name = self.ledger.name
            notifications = self.ledger.recorder.select_notifications(
                start=self._cursor, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return 0, 0
            tracked = self.views.max_tracking_id(name) or 0
            if tracked < self._cursor:  # the views were reset (rebuild): follow them
                self._cursor = tracked
                with self._changed:
                    self._position = tracked
                return 0, self.batch_size
            items = [
                Projectable(n.id, event_type(n.topic), self.ledger.mapper.to_domain_event(n), n)
                for n in notifications
            ]
            fresh = [item for item in items if item.position > tracked]
            listening = bool(self.listeners)
            entries: list[EventView] = []
            if listening:  # what others projected already, our listeners still need
                mask = self.views.mask
                already = items[: len(items) - len(fresh)]
                entries = [e for e in (audit_entry(item, mask) for item in already) if e]
            if fresh:
                tracking = Tracking(name, fresh[-1].position)
                try:
                    entries += self.views.apply_batch(fresh, tracking, with_views=listening)
                except IntegrityError:
                    now = self.views.max_tracking_id(name) or 0
                    if now <= tracked:
                        raise  # not a lost race: a real inconsistency
                    log.info("positions up to %d were projected by another worker", now)
                    return 0, self.batch_size
            self._cursor = notifications[-1].id
            with self._changed:
                self._position = max(self._position, self._cursor)
                self._changed.notify_all()
            self._deliver(entries)
            return len(fresh), len(notifications)

    def _deliver(self, entries: list[EventView]) -> None:
        if not entries:
            return
        for listener in list(self.listeners):
            try:
                listener(entries)
            except Exception:
                log.exception("projection listener %r failed", listener)
