"""How long the oldest event not yet in the read views has waited for them.

``ledger_projection_lag_events`` says how many events the views lack; an alert wants to
know how stale they are: a thousand events behind during a burst is a second, three
behind for ten minutes is a stuck worker. Read at scrape time, only while the views are
behind: the recorded time of the first event after their position.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventsourcing.application import Application

Since = Callable[[int], datetime | None]
"""The recorded time of the first event after a position (None: there is none)."""


def first_after(ledger: Application[Any]) -> Since:
    """:data:`Since` read from ``ledger``'s log (one notification, decoded)."""

    def since(position: int) -> datetime | None:
        found = ledger.recorder.select_notifications(
            start=position, limit=1, inclusive_of_start=False
        )
        if not found:
            return None
        timestamp = getattr(ledger.mapper.to_domain_event(found[0]), "timestamp", None)
        return timestamp if isinstance(timestamp, datetime) else None

    return since
