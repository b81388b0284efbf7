"""The projection worker: keeps the views caught up with the event log, exactly once.

SQLite cannot be subscribed to, and events may be written by other processes (a second
``ledgerd``, a CLI), so the worker pulls: it reads the log after its cursor in batches,
applies each batch in one transaction with its tracking row, then tells the listeners.
``notify()`` wakes it at once after a local command; otherwise it polls every
``poll_interval`` (on PostgreSQL too, for simplicity).

What this process saves is also *fed* to it (:meth:`ProjectionWorker.feed`, which the
ledger application calls with each save's events and positions, in commit order): when
the fed events continue the log right after the cursor, the worker projects them as they
are, without reading them back and decoding them again. Anything else (events written by
another process, a gap, a feed lost to an error) is read from the log, so the feed only
ever saves work and never decides what is projected.

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
from eventsourcing.persistence import IntegrityError, Recording, Tracking
from eventsourcing.utils import TopicError

from ledger.domain.base import event_type
from ledger.views import EventView
from projections.audit import Projectable, audit_entry, projectable
from projections.decoding import EventDecoder
from projections.store import LedgerViews

log = logging.getLogger(__name__)

EventListener = Callable[[list[EventView]], None]
"""Called by the projection worker after each committed batch, oldest first."""
PositionListener = Callable[[int], None]
"""Called by the projection worker with each new projected position."""
Explain = Callable[[BaseException], str | None]
"""A failure's one-line cause an operator can act on (disk full, database unreachable),
without the error's text; None for others (logged with their traceback)."""
MAX_BACKOFF = 5.0
MAX_FED = 10_000  # fed events kept while the worker is behind; beyond, it reads the log


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
        explain: Explain | None = None,
    ) -> None:
        self.ledger = ledger_app
        self.views = views
        self.listeners: list[EventListener] = list(listeners)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.error: Exception | None = None
        self.failed_at = 0.0  # time.monotonic() of the last failed step
        self.explain = explain
        self._cursor = views.max_tracking_id(ledger_app.name) or 0
        self._position = self._cursor
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._processing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._decode = EventDecoder(ledger_app.mapper)
        self._fed: list[Projectable] = []
        self._fed_lock = threading.Lock()
        self.position_listeners: list[PositionListener] = []

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

    def feed(self, recordings: Sequence[Recording[Any]]) -> None:
        """Events this process just committed, with their positions (see the module doc)."""
        items = [
            Projectable(r.notification.id, event_type(r.notification.topic), r.domain_event,
                        r.notification)
            for r in recordings
        ]  # fmt: skip
        with self._fed_lock:
            if len(self._fed) + len(items) > MAX_FED:
                self._fed.clear()  # far behind: reading the log is as good
            self._fed.extend(items)
        if not self._wake.is_set():  # setting it takes a lock even when it is set
            self._wake.set()

    def _take_fed(self) -> list[Projectable]:
        """The fed events that continue the log right after the cursor (at most a batch)."""
        with self._fed_lock:
            if not self._fed:
                return []
            fed = sorted((i for i in self._fed if i.position > self._cursor), key=_position)
            taken: list[Projectable] = []
            for item in fed:
                if item.position != self._cursor + len(taken) + 1 or len(taken) == self.batch_size:
                    break
                taken.append(item)
            self._fed = fed[len(taken) :]
            return taken

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
            except TopicError as error:
                # An event type this version does not know (a newer ledgerd wrote it): no
                # retry can read it, so say so once, plainly, and go on trying slowly.
                if not isinstance(self.error, TopicError):
                    log.error(
                        "projections stopped: the log holds an event type this ledgerd does "
                        "not know (%s), written by a newer ledgerd: upgrade this one",
                        error,
                    )
                self.error = error
                self._wake.wait(MAX_BACKOFF)
                continue
            except Exception as error:
                backoff = min(max(backoff * 2, 0.1), MAX_BACKOFF)
                self._log_failure(error, backoff)
                self.error, self.failed_at = error, time.monotonic()
                self._wake.wait(backoff)  # or at once when notified of a new write
                continue
            if self.error is not None:
                log.warning("projection resumed after a failure")
            self.error = None
            backoff = 0.0
            if fetched < self.batch_size:
                self._wake.wait(self.poll_interval)

    def _log_failure(self, error: Exception, backoff: float) -> None:
        """A known cause (a full disk, an unreachable database) is logged in one line when
        it begins, not at every retry and never with the error's text (it may quote the
        data); anything else with its traceback each time."""
        cause = self.explain(error) if self.explain is not None else None
        if cause is None:
            log.exception("projection failed; retrying in %.1f s", backoff)
            return
        previous = self.error
        if previous is not None and self.explain is not None and self.explain(previous) == cause:
            return
        log.error("projection paused: %s; retrying until it is not", cause)

    def _step(self) -> tuple[int, int]:
        """Read and apply one batch: (events applied here, notifications read)."""
        with self._processing:
            name = self.ledger.name
            items = self._take_fed() or self._read_log()
            if not items:
                return 0, 0
            tracked = self.views.max_tracking_id(name) or 0
            if tracked < self._cursor:  # the views were reset (rebuild): follow them
                self._cursor = tracked
                with self._changed:
                    self._position = tracked
                return 0, self.batch_size
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
            self._cursor = items[-1].position
            with self._changed:
                self._position = max(self._position, self._cursor)
                self._changed.notify_all()
            for listener in self.position_listeners:
                try:
                    listener(self._cursor)
                except Exception:
                    log.exception("position listener %r failed", listener)
            self._deliver(entries)
            return len(fresh), len(items)

    def _read_log(self) -> list[Projectable]:
        notifications = self.ledger.recorder.select_notifications(
            start=self._cursor, limit=self.batch_size, inclusive_of_start=False
        )
        decode = self._decode
        return [projectable(n, decode) for n in notifications]

    def _deliver(self, entries: list[EventView]) -> None:
        if not entries:
            return
        for listener in list(self.listeners):
            try:
                listener(entries)
            except Exception:
                log.exception("projection listener %r failed", listener)


def _position(item: Projectable) -> int:
    return item.position
