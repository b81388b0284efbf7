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

A database may also *lose* commits it had acknowledged (a PostgreSQL crash with
``synchronous_commit=off``, a failover to a lagging replica): past a failure, or a restart
of the database server, the worker trusts nothing it holds in memory: it drops the fed
events and resumes from the tracking row, going back if the views lost batches (see
``docs/outages.md``, "Commits the database lost"). Until then it vouches for no position.
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

from ledger.views import EventView
from projections.audit import Projectable, audit_entry, projectable
from projections.decoding import EventDecoder
from projections.fed import FedEvents
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
LOOK_SECONDS = 1.0  # while idle, how often the tracking row is looked at (a restart)


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
        self._fed = FedEvents()
        self.position_listeners: list[PositionListener] = []
        # Set by a failure: nothing in memory is trusted until the tracking row is read.
        self._doubtful = False
        self._server_run: object = None  # the database server's run, as the views saw it
        self._looked_at = 0.0  # time.monotonic() of the last look at the tracking row

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
        self._fed.add(recordings)
        if not self._wake.is_set():  # setting it takes a lock even when it is set
            self._wake.set()

    # -- read-your-writes -------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The last log position this worker knows to be projected (0 while a failure
        leaves it unsure what the views still hold: see the module doc)."""
        with self._changed:
            return self._known()

    def _known(self) -> int:
        return 0 if self._doubtful else self._position

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Block until ``position`` is projected; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            if self._known() >= position:
                return True
        self.notify()
        with self._changed:
            while self._known() < position:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self.running:
                    self._changed.wait(remaining)
                else:  # nobody will signal: look at the tracking row ourselves
                    self._changed.wait(min(remaining, self.poll_interval))
                    if not self._doubtful:
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
            try:
                return self._apply_next()
            except BaseException:
                self._doubt()
                raise

    def _doubt(self) -> None:
        """After a failure the database may have lost commits it acknowledged (see the
        module doc): drop the fed events, and vouch for no position until the tracking
        row is read again."""
        self._fed.clear()
        with self._changed:
            self._doubtful = True

    def _resync(self, tracked: int) -> None:
        """Resume from what the tracking row says (``tracked``): back to it if the views
        lost batches this worker had applied, and make the views forget what they keep
        in memory of those. Events between the cursor and ``tracked`` (applied by another
        worker) are still read and handed to the listeners, as in any step."""
        if tracked < self._cursor:
            log.warning(
                "the views' database lost projected positions %d to %d (a crash that lost "
                "acknowledged commits): projecting them again",
                tracked + 1, self._cursor,
            )  # fmt: skip
            self._fed.clear()
            self.views.forget_memory()
            self._cursor = tracked
        with self._changed:
            self._position = self._cursor
            self._doubtful = False
            self._changed.notify_all()
        self._announce()

    def _tracked(self, name: str) -> tuple[int, bool]:
        """The tracking row's position, and whether the worker resynchronised on it
        because a failure, or a restart of the database server since the last look, may
        have lost commits."""
        tracked, server_run = self.views.tracked(name)
        self._looked_at = time.monotonic()
        restarted = server_run != self._server_run and self._server_run is not None
        self._server_run = server_run
        if restarted:
            log.warning("the views' database server restarted: resuming from its tracking row")
        if not restarted and not self._doubtful:
            return tracked, False
        self._doubt()
        self._resync(tracked)
        return tracked, True

    def _apply_next(self) -> tuple[int, int]:
        name = self.ledger.name
        if self._doubtful:  # before taking fed events: they may be of lost commits
            self._tracked(name)
        items = self._fed.take(self._cursor, self.batch_size) or self._read_log()
        if not items:
            if time.monotonic() - self._looked_at >= LOOK_SECONDS:
                self._tracked(name)  # a restarted server is noticed while idle too
            return 0, 0
        tracked, resynced = self._tracked(name)
        if resynced:  # the items may be of commits the database lost: read the log again
            return 0, self.batch_size
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
        self._announce()
        self._deliver(entries)
        return len(fresh), len(items)

    def _announce(self) -> None:
        for listener in self.position_listeners:
            try:
                listener(self._cursor)
            except Exception:
                log.exception("position listener %r failed", listener)

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
