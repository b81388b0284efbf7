"""``ledgerd backup``: every stored event of one consistent snapshot of the log, and a
checkpoint signed now over exactly those events, while ``ledgerd`` keeps serving.

The records are read in ONE read transaction (a WAL reader beside the serving writer on
SQLite, never the data dir's lock; REPEATABLE READ on PostgreSQL, whose appends are
serialised by a table lock, so a snapshot holds a prefix of the log). The tree is the
projection's own (:mod:`projections.merkle`): the backup waits, bounded, until it covers
the snapshot's last event, then signs its root at the snapshot's size with the ledger's
signing key. No leaf is hashed here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment

from ledger.application import LedgerApplication
from ledger.errors import FailedPrecondition, Unavailable
from projections import VIEWS_NAME, LedgerViews
from projections.databases import PostgresLedgerViews, SQLiteLedgerViews
from server.backup.format import BackupWriter, Header, Record
from server.backup.stores import Bounds, EventTable, StoredRecord, leaf_hashes
from server.infra.persistence import events_env, views_env
from server.infra.settings import Settings
from server.infra.signing import signing_key, signing_key_path
from transparency import Checkpoint, PrivateKey, sign

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class BackupSummary:
    """What ``ledgerd backup`` wrote."""

    path: Path
    bounds: Bounds
    checkpoint: Checkpoint
    size: int
    seconds: float


def take_backup(
    settings: Settings,
    out: Path,
    *,
    version: str,
    backend: str,
    timeout: float,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> BackupSummary:
    """Write the backup of the ledger of ``settings`` to ``out``.

    FAILED_PRECONDITION when there is no ledger there, no signing key, or the
    projections do not cover the snapshot within ``timeout`` seconds.
    """
    started = time.perf_counter()
    _check_ledger_exists(settings)
    key_path = signing_key_path(settings)
    if not key_path.exists():
        raise FailedPrecondition(
            f"the checkpoint signing key {key_path} does not exist: back up where ledgerd's "
            "key is (LEDGER_SIGNING_KEY, default $LEDGER_DATA/signing.key)"
        )
    key = signing_key(settings)
    factory: Any = InfrastructureFactory.construct(
        Environment(LedgerApplication.name, {**events_env(settings), "CREATE_TABLE": "n"})
    )
    with contextlib.ExitStack() as closing:
        closing.callback(factory.close)
        views = _served_views(settings)
        closing.callback(views.close)
        with EventTable(factory.application_recorder()).snapshot() as snapshot:
            bounds = snapshot.bounds()
            _wait_for_tree(views, bounds, timeout)
            header, checkpoint = _signed_header(
                settings, key, views, bounds, version, backend, clock
            )
            writer = BackupWriter(out, header)
            try:
                for page in snapshot.pages():
                    _write_page(writer, views, page)
                size = writer.finish()
            except BaseException:
                writer.discard()
                raise
    return BackupSummary(out, bounds, checkpoint, size, time.perf_counter() - started)


def _signed_header(
    settings: Settings,
    key: PrivateKey,
    views: LedgerViews,
    bounds: Bounds,
    version: str,
    backend: str,
    clock: Callable[[], datetime],
) -> tuple[Header, Checkpoint]:
    """The header, with the projection tree's root at the snapshot's size signed now."""
    root = views.tree(bounds.count, lambda tree: tree.root()).root()
    checkpoint = Checkpoint(settings.log_origin, bounds.count, root, clock())
    header = Header(
        ledgerd=version,
        backend=backend,
        created=checkpoint.timestamp.isoformat(),
        origin=settings.log_origin,
        first_position=bounds.first,
        last_position=bounds.last,
        count=bounds.count,
        checkpoint=sign(checkpoint, key),
    )
    return header, checkpoint


def _served_views(settings: Settings) -> LedgerViews:
    """The views of the (maybe serving) ledger, opened to read only.

    Not :func:`projections.open_views`: that one creates missing tables and empties
    views it finds outdated, which on a served ledger is ``ledgerd``'s business alone.
    """
    env = {
        **views_env(settings),
        "CREATE_TABLE": "n",
        f"{VIEWS_NAME.upper()}_SINGLE_ROW_TRACKING": "t",
    }
    factory: Any = InfrastructureFactory.construct(Environment(VIEWS_NAME, env))
    kind = SQLiteLedgerViews if isinstance(factory, SQLiteFactory) else PostgresLedgerViews
    views: LedgerViews = factory.tracking_recorder(kind)
    return views


def _check_ledger_exists(settings: Settings) -> None:
    if settings.postgres is None and not (settings.data_dir / "events.sqlite").exists():
        raise FailedPrecondition(f"there is no ledger in {settings.data_dir} to back up")


def _wait_for_tree(views: LedgerViews, bounds: Bounds, timeout: float) -> None:
    """Until the projection's tree has every event of the snapshot (it may lag the log by
    a few milliseconds); the tree's leaves must then be exactly the snapshot's events."""
    deadline = time.monotonic() + timeout
    while views.tree_size() < bounds.count:
        if time.monotonic() >= deadline:
            raise Unavailable(
                f"the projections' Merkle tree did not reach the log's {bounds.count} events "
                f"within {timeout:g} s: start ledgerd (it catches up) or run "
                "`ledgerd projections rebuild`, then back up again"
            )
        time.sleep(POLL_SECONDS)
    if bounds.count and views.leaf_positions().position(bounds.count - 1) != bounds.last:
        raise FailedPrecondition(
            "the projections' Merkle tree does not match the log: run "
            "`ledgerd projections rebuild`, then back up again"
        )


def _write_page(writer: BackupWriter, views: LedgerViews, page: list[StoredRecord]) -> None:
    try:
        leaves = leaf_hashes(views, writer.count, len(page))
    except LookupError:
        raise FailedPrecondition(
            "the projections' Merkle tree lacks leaves of the log: run "
            "`ledgerd projections rebuild`, then back up again"
        ) from None
    writer.write(
        [
            Record(
                position=stored.position,
                originator_id=stored.originator_id,
                originator_version=stored.originator_version,
                topic=stored.topic,
                state=stored.state,
                leaf=leaf,
            )
            for stored, leaf in zip(page, leaves, strict=True)
        ]
    )
