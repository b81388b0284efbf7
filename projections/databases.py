"""The views on each database: only the driver glue around :class:`LedgerViews`.

How a transaction is opened, how the tracking row is recorded and where the tables live
(an SQLite file of their own; tables beside the events in PostgreSQL). Everything else,
applying a batch exactly once included, is the same on both and lives in
:mod:`projections.store`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL

from projections import sql
from projections.store import LedgerViews

__all__ = ["PostgresLedgerViews", "SQLiteLedgerViews"]


class SQLiteLedgerViews(LedgerViews, SQLiteTrackingRecorder):
    """The views in an SQLite file of their own (SQLite's table names are fixed per file).

    Writes run with ``synchronous=NORMAL``: in WAL mode that survives a process crash,
    and a power cut can only lose whole recent batches together with their tracking,
    which the worker then projects again. The events file keeps the library's setting.
    """

    dialect = sql.SQLITE
    tracking_table = "tracking"

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.dialect.schema()]

    synchronous = "NORMAL"

    @contextmanager
    def rebuilding(self) -> Iterator[None]:
        """A rebuild's pages are written with ``synchronous=OFF``: no fsync at the WAL's
        checkpoints. A process crash loses nothing; a power cut during the rebuild may
        lose or damage the views file, which a rebuild run again replaces (or delete the
        file: ``ledgerd`` projects the log into a new one). When the rebuild ends, one
        checkpoint at the usual level writes the views durably to the file."""
        self.synchronous = "OFF"
        try:
            yield
        finally:
            self.synchronous = type(self).synchronous
        with (
            self.datastore.get_connection(commit=True) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute(f"PRAGMA synchronous = {self.synchronous}")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def _sqlite_transaction(self, commit: bool) -> Iterator[SQLiteCursor]:
        with self.datastore.get_connection(commit=commit) as connection:
            if commit:  # may not be changed inside a transaction
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA synchronous = {self.synchronous}")
            with connection.transaction(commit=commit) as cursor:
                yield cursor

    def _transaction(self, *, commit: bool) -> AbstractContextManager[SQLiteCursor]:
        return self._sqlite_transaction(commit)

    def _track(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def close(self) -> None:
        self.datastore.close()


class PostgresLedgerViews(LedgerViews, PostgresTrackingRecorder):
    """The views as ``ledger_view_*`` tables in the events' PostgreSQL database."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.dialect = sql.postgres_dialect(self.datastore.schema)
        schema = sql.quote_ident(self.datastore.schema)
        self._tracking_table = f"{schema}.{sql.quote_ident(self.tracking_table_name)}"
        self.sql_create_statements.extend(SQL(s).format() for s in self.dialect.schema())

    @property
    def tracking_table(self) -> str:
        return self._tracking_table

    @contextmanager
    def _pg_transaction(self, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        return self._pg_transaction(commit)

    def _track(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def tracked(self, application_name: str) -> tuple[int, object]:
        # The server's start time comes with the position, in the same round trip.
        statement = (
            f"SELECT MAX(notification_id) AS max, pg_postmaster_start_time() AS started "
            f"FROM {self._tracking_table} WHERE application_name = %s"
        )
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (application_name,))
            row = cursor.fetchone()
        return (row["max"] or 0, row["started"]) if row is not None else (0, None)

    def close(self) -> None:
        self.datastore.close()
