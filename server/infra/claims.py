"""Which ``ledgerd`` drives a promotion when several share one PostgreSQL ledger.

A promotion is driven by the process that holds a session-level advisory lock named
after it. The lock lives as long as the process's connection: a ``ledgerd`` killed
mid-rollout loses it at once, and the next process that scans the promotions in
flight takes the promotion over and reconciles the containers. No lease to renew,
nothing written to the log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from server.infra.persistence import connect
from server.infra.settings import PostgresTarget

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 5
LOCK_NAMESPACE = b"ledger.promotion:"


def lock_key(promotion_id: str) -> int:
    """A stable signed 64-bit advisory lock key for a promotion."""
    digest = hashlib.sha256(LOCK_NAMESPACE + promotion_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresClaims:
    """Claims held as PostgreSQL advisory locks, one connection per promotion driven."""

    def __init__(self, target: PostgresTarget) -> None:
        self.target = target

    @contextmanager
    def claim(self, promotion_id: str) -> Iterator[bool]:
        try:
            connection = connect(self.target, CONNECT_TIMEOUT_SECONDS)
        except psycopg.Error as error:
            log.warning("cannot claim promotion %s: %s", promotion_id, error)
            yield False  # the next scan tries again
            return
        with connection:
            row = connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (lock_key(promotion_id),)
            ).fetchone()
            yield bool(row and row[0])
