"""Where a restore writes, kept empty until the restore has verified.

- **SQLite**: the data dir must hold no ledger (no ``events.sqlite``, no views file;
  key files are welcome). The restore writes into a staging dir inside it
  (``.restore-<pid>``) under the data dir's lock, and only a verified restore moves the
  files into place; otherwise the staging dir is removed (and the data dir too, if the
  restore made it).
- **PostgreSQL**: the database must have no table in its schema. The restore holds the
  advisory lock that ``ledgerd`` takes to create its tables (a ``ledgerd`` started
  meanwhile waits), and a refused restore drops every table, type and function it made.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import psycopg
from eventsourcing.persistence import OperationalError

from ledger.errors import FailedPrecondition
from server.infra.persistence import DataDirLock, connect, creating_tables
from server.infra.settings import PostgresTarget, Settings

LEDGER_FILES = ("events.sqlite", "views-v")  # name prefixes of a ledger's SQLite files

# Objects of the schema, for "empty" and to drop what a refused restore made.
SCHEMA_OBJECTS = """
SELECT 'TABLE' AS kind, format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
UNION ALL
SELECT 'TYPE', format('%I.%I', n.nspname, t.typname)
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  JOIN pg_class c ON c.oid = t.typrelid
 WHERE n.nspname = current_schema() AND c.relkind = 'c'
UNION ALL
SELECT 'FUNCTION', p.oid::regprocedure::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = current_schema()
"""


class Target(ABC):
    """An empty ledger to restore into. Use as a context manager: entering checks that it
    is empty and keeps others out; :meth:`commit` keeps what was written, leaving without
    it undoes everything."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.committed = False

    @property
    @abstractmethod
    def staged(self) -> Settings:
        """The settings to write the restored ledger with."""

    @abstractmethod
    def commit(self) -> None:
        """Keep the restored ledger (after it verified)."""

    def __enter__(self) -> Target:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None: ...


def target_for(settings: Settings) -> Target:
    target = settings.postgres
    return SQLiteTarget(settings) if target is None else PostgresRestoreTarget(settings, target)


class SQLiteTarget(Target):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        data_dir = settings.data_dir
        self.made_dir = not data_dir.exists()
        self.made_lock = not (data_dir / "ledgerd.lock").exists()
        self.lock = DataDirLock(settings)  # refuses if a ledgerd serves this dir
        try:
            found = sorted(p.name for p in data_dir.iterdir() if p.name.startswith(LEDGER_FILES))
            if found:
                raise FailedPrecondition(
                    f"the data dir {data_dir} holds a ledger ({', '.join(found)}): restore "
                    "into an empty data dir"
                )
            self.staging = data_dir / f".restore-{os.getpid()}"
            self.staging.mkdir()
        except BaseException:
            self.close()
            raise

    @property
    def staged(self) -> Settings:
        return replace(self.settings, data_dir=self.staging)

    def commit(self) -> None:
        for path in sorted(self.staging.iterdir()):
            os.replace(path, self.settings.data_dir / path.name)
        _fsync_dir(self.settings.data_dir)
        self.committed = True

    def close(self) -> None:
        staging = getattr(self, "staging", None)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if not self.committed and self.made_lock:
            with contextlib.suppress(FileNotFoundError):
                (self.settings.data_dir / "ledgerd.lock").unlink()
        self.lock.release()
        if not self.committed and self.made_dir:
            shutil.rmtree(self.settings.data_dir, ignore_errors=True)


class PostgresRestoreTarget(Target):
    def __init__(self, settings: Settings, target: PostgresTarget) -> None:
        super().__init__(settings)
        self.target = target
        self._locked = creating_tables(settings)
        self._locked.__enter__()  # a ledgerd starting meanwhile waits for this lock
        try:
            self.before = self._objects()
            tables = sorted(name for kind, name in self.before if kind == "TABLE")
            if tables:
                raise FailedPrecondition(
                    f"the database {target.dbname} is not empty (it has {len(tables)} "
                    f"table(s), such as {tables[0]}): restore into an empty database"
                )
        except BaseException:
            self._locked.__exit__(None, None, None)
            raise

    @property
    def staged(self) -> Settings:
        return self.settings

    def commit(self) -> None:
        self.committed = True

    def close(self) -> None:
        try:
            if not self.committed:
                self._drop_created()
        finally:
            self._locked.__exit__(None, None, None)

    def _drop_created(self) -> None:
        made = [item for item in self._objects() if item not in self.before]
        order = {"TABLE": 0, "FUNCTION": 1, "TYPE": 2}
        with self._connect() as connection:
            for kind, name in sorted(made, key=lambda item: order[item[0]]):
                connection.execute(f"DROP {kind} IF EXISTS {name} CASCADE")

    def _objects(self) -> set[tuple[str, str]]:
        with self._connect() as connection:
            return {(row[0], row[1]) for row in connection.execute(SCHEMA_OBJECTS).fetchall()}

    @contextlib.contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[tuple[str, str]]]:
        t = self.target
        try:
            with connect(t) as connection:
                yield connection
        except psycopg.Error as error:
            raise OperationalError(f"the database {t.dbname}: {error}") from error


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
