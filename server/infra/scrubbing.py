"""The scrubs of ``ledgerd``: the newest events at start, the whole log in the background,
and the read-only opening of a ledger for ``ledgerd audit scrub``.

Every scrub compares through :func:`scrub_of`, the one place that says how a leaf is
computed for a scrub. The background scrub walks the whole log in a loop,
``LEDGER_SCRUB_RATE`` events per second in small steps on a thread of its own, so that
a write never waits behind it for long; it also reads the standing finding once a second,
so a finding saved or cleared by ``ledgerd audit scrub`` (or another ``ledgerd``) shows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from ledger.application import LedgerApplication
from ledger.domain.secrecy import Mask
from ledger.errors import NotFound
from projections import open_views
from projections.audit import Projectable, projectable
from projections.decoding import EventDecoder
from projections.merkle import leaf_hash
from projections.scrub import Outcome, Scrub
from projections.store import LedgerViews
from server.infra.cipher import audit_digest_key, cipher_key
from server.infra.integrity import Integrity, finding_store, refusal
from server.infra.persistence import creating_tables, ledger_env, views_env
from server.infra.settings import Settings

log = logging.getLogger("ledgerd.integrity")

STEPS_PER_SECOND = 20  # short steps: a writer waits at most one for the GIL
REFRESH_SECONDS = 1.0
START = "the start scrub"
BACKGROUND = "the background scrub"


def scrub_of(ledger: Application[Any], views: LedgerViews) -> Scrub:
    """A scrub of ``ledger``'s stored events against the tree in ``views``.

    The one place that says how a scrub decodes a record and computes its leaf: as the
    projection does (:func:`projections.audit.projectable`, then
    :func:`projections.merkle.leaf_hash` under the views' mask), so the leaf is the
    projection's whatever its format."""
    decoder = EventDecoder(ledger.mapper)
    mask = views.mask

    def decode(stored: Notification) -> Projectable:
        return projectable(stored, decoder)

    def leaf_of(tree_position: int, stored: Notification, item: Projectable) -> bytes:
        return leaf_hash(tree_position, item, mask)

    return Scrub(views, ledger.recorder, decode, leaf_of)


def scrub_at_start(scrub: Scrub, integrity: Integrity, count: int) -> Outcome | None:
    """Scrub the newest ``count`` events (none for 0) and report what it found."""
    integrity.refresh()
    standing = integrity.finding
    if standing is not None:
        log.error("%s", refusal(standing))
    if count <= 0:
        return None
    started = time.perf_counter()
    outcome = scrub.last(count)
    if outcome.mismatch is not None:
        integrity.report(outcome.mismatch, START)
    else:
        seconds = time.perf_counter() - started
        log.info("the newest %d events match the Merkle tree (%.2f s)", outcome.checked, seconds)
    return outcome


def guard_writes(
    ledger: LedgerApplication, views: LedgerViews, settings: Settings
) -> tuple[Integrity, Scrub]:
    """Arm the write guard of a started ``ledgerd`` with its standing finding, after a
    scrub of the newest ``LEDGER_SCRUB_AT_START`` events; the scrub for the background."""
    integrity = Integrity(finding_store(settings, views))
    ledger.write_guards.append(integrity.check_writable)
    scrub_at_start(scrub_of(ledger, views), integrity, settings.scrub_at_start)
    return integrity, scrub_of(ledger, views)


class BackgroundScrub:
    """Walks the whole log against the tree at ``rate`` events per second (0: not at all),
    in a loop, and reads the standing finding once a second."""

    def __init__(self, scrub: Scrub, integrity: Integrity, rate: int) -> None:
        self.scrub = scrub
        self.integrity = integrity
        self.rate = rate
        self.cursor = 0  # the next leaf to compare
        self.passes = 0  # whole walks of the log completed
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scrub", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        owed = 0.0
        refreshed = last = time.monotonic()
        while not self._stopping.wait(1 / STEPS_PER_SECOND):
            now = time.monotonic()
            # Paced by the clock, at most a second's worth at once (after a slow step).
            owed = min(owed + self.rate * (now - last), float(max(self.rate, 1)))
            last = now
            try:
                if now - refreshed >= REFRESH_SECONDS:
                    self.integrity.refresh()
                    refreshed = now
                if owed >= 1:
                    self.step(int(owed))
                    owed -= int(owed)
            except Exception:  # a database hiccup must not end the scrubbing
                log.exception("scrubbing failed; trying again")

    def step(self, count: int) -> Outcome:
        """Compare the next ``count`` leaves (from the first again after the last)."""
        size = self.scrub.tree.tree_size()
        if self.cursor >= size:
            self.passes += self.cursor > 0
            self.cursor = 0
        outcome = self.scrub.leaves(self.cursor, self.cursor + count, size)
        if outcome.mismatch is not None:
            self.integrity.report(outcome.mismatch, BACKGROUND)
            self.cursor = outcome.mismatch.position  # go on after it
        else:
            self.cursor = outcome.end
        return outcome


@contextmanager
def opened(settings: Settings) -> Iterator[tuple[Scrub, Integrity]]:
    """A scrub and the finding of the ledger of ``settings``, read-only and without the
    data dir's lock (a ``ledgerd`` may be serving it)."""
    if settings.postgres is None and not (settings.data_dir / "events.sqlite").exists():
        raise NotFound(f"no ledger in {settings.data_dir} (events.sqlite is missing)")
    with creating_tables(settings):
        ledger = LedgerApplication(env=ledger_env(settings))
        try:
            # The ledger's own mask: the leaves digest secret values under it.
            mask = Mask(audit_digest_key(cipher_key(settings)))
            views = open_views(views_env(settings), mask=mask, repair=False)
        except BaseException:
            ledger.close()
            raise
    try:
        yield scrub_of(ledger, views), Integrity(finding_store(settings, views))
    finally:
        views.close()
        ledger.close()


COMMAND = "ledgerd audit scrub"


def scrub_and_report(
    settings: Settings,
    *,
    last: int | None = None,
    first: int | None = None,
    last_position: int | None = None,
) -> tuple[str, bool]:
    """``ledgerd audit scrub``: (what to print, whether the range matched). A mismatch is
    kept as the finding; a full scrub that passes clears the standing one."""
    whole = last is None and first is None and last_position is None
    with opened(settings) as (scrub, integrity):
        size = scrub.tree.tree_size()
        if last is not None:
            outcome = scrub.leaves(size - last, size, size)
        else:
            end = size if last_position is None else last_position
            outcome = scrub.leaves((first or 1) - 1, end, size)
        if outcome.mismatch is not None:
            integrity.report(outcome.mismatch, COMMAND)
            return f"MISMATCH at {outcome.mismatch}", False
        if whole:
            cleared = integrity.clear()
            note = f"; cleared the finding at {cleared.mismatch}" if cleared else ""
            return f"OK: {outcome.checked} events match the tree of size {size}{note}", True
        integrity.refresh()
        standing = integrity.finding
        note = (
            f"; the finding at {standing.mismatch} stands until a full scrub passes"
            if standing
            else ""
        )
        span = f"positions {outcome.first + 1} to {outcome.end}"
        return f"OK: {outcome.checked} events ({span}) match the tree of size {size}{note}", True
