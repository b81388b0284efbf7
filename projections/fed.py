"""The events this process saved, handed to the projection worker as they commit.

See :mod:`projections.worker`: when they continue the log right after its cursor, the
worker projects them as they are instead of reading them back and decoding them again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Recording

from ledger.domain.base import event_type
from projections.audit import Projectable

MAX_FED = 10_000  # fed events kept while the worker is behind; beyond, it reads the log


class FedEvents:
    """Fed events not projected yet, in any order, each with its log position."""

    def __init__(self) -> None:
        self._items: list[Projectable] = []
        self._lock = threading.Lock()

    def add(self, recordings: Sequence[Recording[Any]]) -> None:
        """Events just committed, with their positions."""
        items = [
            Projectable(r.notification.id, event_type(r.notification.topic), r.domain_event,
                        r.notification)
            for r in recordings
        ]  # fmt: skip
        with self._lock:
            if len(self._items) + len(items) > MAX_FED:
                self._items.clear()  # far behind: reading the log is as good
            self._items.extend(items)

    def take(self, cursor: int, limit: int) -> list[Projectable]:
        """The fed events that continue the log right after ``cursor`` (at most
        ``limit``); those at or before ``cursor`` are dropped."""
        with self._lock:
            if not self._items:
                return []
            fed = sorted((i for i in self._items if i.position > cursor), key=_position)
            taken: list[Projectable] = []
            for item in fed:
                if item.position != cursor + len(taken) + 1 or len(taken) == limit:
                    break
                taken.append(item)
            self._items = fed[len(taken) :]
            return taken

    def clear(self) -> None:
        """Forget them all: they may be of commits the database then lost."""
        with self._lock:
            self._items.clear()


def _position(item: Projectable) -> int:
    return item.position
