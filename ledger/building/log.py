"""A build's log as the runtime writes it, stored in batches as ``BuildLogAppended`` events.

Why batches: ``docker build`` writes a line at a time, often hundreds per second; an event
per line would flood the log and the projections. Output is held until 0.25 s passed
since the last flush or 16 KiB are waiting (and flushed at the end), so followers still
see it within a fraction of a second. The stored log is capped (4 MiB by default): past
the cap one "log truncated" line is stored and the rest is dropped, so a runaway build
cannot fill the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ledger.errors import FailedPrecondition

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.25
FLUSH_BYTES = 16 * 1024
MAX_LOG_BYTES = 4 * 1024 * 1024

Store = Callable[[int, str], None]
"""Records one chunk of the log: ``store(seq, text)`` (seq 1, 2, 3 … per build)."""


def clean(text: str) -> str:
    """Text every store accepts: no NUL (PostgreSQL text refuses it), no lone surrogates."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


class BatchedLog:
    """Implements the runtime port's ``BuildLog``: ``write`` never blocks on more than one
    store call, chunks are stored in order, and nothing buffered is lost at ``close``."""

    def __init__(
        self,
        store: Store,
        *,
        last_seq: int = 0,
        limit: int = MAX_LOG_BYTES,
        flush_seconds: float = FLUSH_SECONDS,
        flush_bytes: int = FLUSH_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._seq = last_seq
        self._limit = limit
        self._flush_seconds = flush_seconds
        self._flush_bytes = flush_bytes
        self._clock = clock
        self._buffer: list[str] = []
        self._buffered = 0  # bytes (UTF-8) waiting in the buffer
        self._accepted = 0  # bytes accepted so far, stored or waiting
        self._truncated = False
        self._abandoned = False
        self._last_flush = clock()
        self._lock = threading.Lock()  # guards the buffer
        self._storing = threading.Lock()  # one store at a time, so chunks keep their order

    @property
    def seq(self) -> int:
        """The seq of the last chunk stored."""
        return self._seq

    def write(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            if self._truncated or self._abandoned:
                return
            text = clean(text)
            size = len(text.encode("utf-8"))
            if self._accepted + size > self._limit:
                text = self._cut(text, self._limit - self._accepted)
                size = len(text.encode("utf-8"))
                self._truncated = True
            self._buffer.append(text)
            self._buffered += size
            self._accepted += size
            due = self._due()
        if due:
            self.flush()

    def flush_if_due(self) -> None:
        """Flush when the interval passed (called by a timer: output that stops comes out)."""
        with self._lock:
            due = self._buffered > 0 and self._due()
        if due:
            self.flush()

    def flush(self) -> None:
        with self._storing:
            with self._lock:
                text = "".join(self._buffer)
                self._buffer.clear()
                self._buffered = 0
                self._last_flush = self._clock()
            if not text or self._abandoned:
                return
            try:
                self._store(self._seq + 1, text)
            except FailedPrecondition as error:
                # The build ended elsewhere (e.g. failed by a restarted ledgerd): stop storing.
                log.warning("build log dropped: %s", error)
                self._abandoned = True
                return
            except Exception:
                log.exception("could not store a build log chunk; keeping it for the next flush")
                with self._lock:
                    self._buffer.insert(0, text)
                    self._buffered += len(text.encode("utf-8"))
                return
            self._seq += 1

    def close(self) -> None:
        """Store what is still buffered (the last chunk)."""
        self.flush()

    def _due(self) -> bool:
        return (
            self._buffered >= self._flush_bytes
            or self._truncated
            or self._clock() - self._last_flush >= self._flush_seconds
        )

    def _cut(self, text: str, room: int) -> str:
        kept = text.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore")
        if kept and not kept.endswith("\n"):
            kept += "\n"
        megabytes = self._limit / (1024 * 1024)
        return kept + f"… log truncated: builds keep at most {megabytes:g} MiB of output\n"
