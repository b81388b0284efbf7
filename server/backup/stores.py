"""The event store's table read and written record by record, positions included.

The library reads and appends events; a backup needs every record of one consistent
snapshot of the log while ``ledgerd`` keeps writing, and a restore needs to put records
back at their exact log positions (PostgreSQL may have skipped positions, and the Merkle
tree maps its leaves to them). Both backends' tables are the library's own
(``eventsourcing.sqlite`` / ``eventsourcing.postgres``); only the ledger's table names
and the column holding the position differ.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from projections import LedgerViews

PAGE = 5000
LEAVES = (
    "SELECT idx, hash FROM {merkle_nodes} WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx"
)


@dataclass(frozen=True)
class StoredRecord:
    """A row of the events table."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class Bounds:
    """How many events a snapshot of the log holds, and its first and last positions."""

    count: int
    first: int
    last: int


class LogSnapshot:
    """The events table as of one read transaction (SQLite WAL reader / PostgreSQL
    REPEATABLE READ): what it holds does not change while ``ledgerd`` writes on."""

    def __init__(self, cursor: Any, table: EventTable) -> None:
        self._cursor = cursor
        self._table = table

    def bounds(self) -> Bounds:
        column, name = self._table.position_column, self._table.name
        self._cursor.execute(
            f"SELECT COUNT(*) AS n, MIN({column}) AS lo, MAX({column}) AS hi FROM {name}"
        )
        row = self._cursor.fetchone()
        return Bounds(int(row["n"]), int(row["lo"] or 0), int(row["hi"] or 0))

    def pages(self, size: int = PAGE) -> Iterator[list[StoredRecord]]:
        """Every record in log order, ``size`` at a time (keyset pages, same snapshot)."""
        column, name, mark = self._table.position_column, self._table.name, self._table.mark
        statement = (
            f"SELECT {column} AS position, originator_id, originator_version, topic, state "
            f"FROM {name} WHERE {column} > {mark} ORDER BY {column} LIMIT {mark}"
        )
        after = 0
        while True:
            self._cursor.execute(statement, (after, size))
            rows = self._cursor.fetchall()
            if not rows:
                return
            page = [
                StoredRecord(
                    position=int(row["position"]),
                    originator_id=UUID(str(row["originator_id"])),
                    originator_version=int(row["originator_version"]),
                    topic=str(row["topic"]),
                    state=bytes(row["state"]),
                )
                for row in rows
            ]
            yield page
            after = page[-1].position


class EventTable:
    """The ledger's events table behind ``recorder`` (an application recorder of either
    backend), read and written with explicit positions."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        datastore = getattr(recorder, "datastore", None)
        table = str(getattr(recorder, "events_table_name", ""))
        if isinstance(datastore, SQLiteDatastore):
            self.postgres = False
            self.name, self.position_column, self.mark = table, "rowid", "?"
        elif isinstance(datastore, PostgresDatastore):
            self.postgres = True
            self.name = f'"{datastore.schema}"."{table}"'
            self.position_column, self.mark = "notification_id", "%s"
        else:
            raise TypeError(f"no backup of a {type(recorder).__name__}")
        self.datastore: Any = datastore

    @contextmanager
    def snapshot(self) -> Iterator[LogSnapshot]:
        """One read-only transaction over the table (never a write lock)."""
        with self.datastore.transaction(commit=False) as cursor:
            if self.postgres:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield LogSnapshot(cursor, self)

    def insert(self, records: Sequence[StoredRecord]) -> None:
        """Append ``records`` at their own positions, in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            if self.postgres:
                columns = "notification_id, originator_id, originator_version, topic, state"
                with cursor.copy(f"COPY {self.name} ({columns}) FROM STDIN") as copy:
                    for r in records:
                        copy.write_row(
                            (r.position, r.originator_id, r.originator_version, r.topic, r.state)
                        )
            else:
                cursor.executemany(
                    f"INSERT INTO {self.name} (rowid, originator_id, originator_version, "
                    "topic, state) VALUES (?, ?, ?, ?, ?)",
                    [
                        (r.position, r.originator_id.hex, r.originator_version, r.topic, r.state)
                        for r in records
                    ],
                )

    def continue_after_restore(self) -> None:
        """Make the next append take the position after the last restored one.

        SQLite does so by itself (the next rowid is the largest plus one); PostgreSQL's
        sequence knows nothing of positions inserted explicitly.
        """
        if not self.postgres:
            return
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{self.name}', 'notification_id'), "
                f"GREATEST(MAX(notification_id), 1), MAX(notification_id) IS NOT NULL) "
                f"FROM {self.name}"
            )


def leaf_hashes(views: LedgerViews, first: int, count: int) -> list[bytes]:
    """The hashes of leaves ``first`` to ``first + count - 1`` of the projection's tree
    (its level-0 nodes), read as a range: a backup wants every leaf, in order, where the
    tree's own reads fetch the scattered nodes of a proof."""
    datastore: Any = getattr(views, "datastore")  # noqa: B009 (the recorder's, untyped)
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(views.dialect.sql(LEAVES), (first, first + count))
        rows = cursor.fetchall()
    if [int(row["idx"]) for row in rows] != list(range(first, first + count)):
        raise LookupError(f"the Merkle tree lacks leaves among {first}..{first + count - 1}")
    return [bytes(row["hash"]) for row in rows]
