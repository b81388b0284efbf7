"""Whether the stored log still matches its Merkle tree, as far as scrubs found: the
standing finding, kept across restarts, and the write guard it arms.

A finding is the first mismatch a scrub reported (:mod:`projections.scrub`). It is kept
where a restart does not lose it and every process of the ledger sees it: a file in the
data dir on SQLite (not in the views file, which a schema change replaces), a one-row
table in the database on PostgreSQL (shared by every ``ledgerd`` of the ledger). While a
finding stands, :meth:`Integrity.check_writable` refuses every command, so nothing more
is written on top of a log that no longer is what was signed; reads keep working. It
stands until an operator acts: restores the ledger from a backup (which brings back a
data dir without the file), or runs a full ``ledgerd audit scrub`` that passes, which
clears it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ledger.errors import IntegrityCompromised
from projections.scrub import Mismatch
from server.infra.persistence import creating_tables
from server.infra.settings import Settings

log = logging.getLogger("ledgerd.integrity")

FINDING_FILE = "integrity-finding.json"
FINDING_TABLE = "ledger_integrity_finding"
ACTION = (
    "restore the ledger from a backup, or run `ledgerd audit scrub`: a full scrub that "
    "passes clears this"
)


@dataclass(frozen=True)
class Finding:
    """A mismatch a scrub reported, with which scrub and when."""

    position: int
    log_position: int
    problem: str
    found_by: str
    found_at: str

    @classmethod
    def of(cls, mismatch: Mismatch, found_by: str) -> Finding:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(mismatch.position, mismatch.log_position, mismatch.problem, found_by, now)

    @property
    def mismatch(self) -> Mismatch:
        return Mismatch(self.position, self.log_position, self.problem)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Finding:
        data = json.loads(text)
        return cls(
            int(data["position"]),
            int(data["log_position"]),
            str(data["problem"]),
            str(data["found_by"]),
            str(data["found_at"]),
        )


class FindingStore(Protocol):
    """Where the standing finding is kept (at most one)."""

    def load(self) -> Finding | None: ...

    def save(self, finding: Finding) -> None: ...

    def clear(self) -> None: ...


class FileFindings:
    """The finding as a JSON file in the SQLite data dir, replaced atomically."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FINDING_FILE

    def load(self) -> Finding | None:
        try:
            return Finding.from_json(self.path.read_text())
        except FileNotFoundError:
            return None

    def save(self, finding: Finding) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(finding.to_json() + "\n")
        os.replace(partial, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class TableFindings:
    """The finding as the one row of a table in the ledger's PostgreSQL database."""

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore  # the views' eventsourcing PostgresDatastore
        self.table = f'"{datastore.schema}".{FINDING_TABLE}'

    def create(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                "(id INTEGER PRIMARY KEY CHECK (id = 1), finding TEXT NOT NULL)"
            )

    def load(self) -> Finding | None:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT finding FROM {self.table} WHERE id = 1")
            row = cursor.fetchone()
        return None if row is None else Finding.from_json(row["finding"])

    def save(self, finding: Finding) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} (id, finding) VALUES (1, %s) "
                "ON CONFLICT (id) DO UPDATE SET finding = EXCLUDED.finding",
                (finding.to_json(),),
            )

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(f"DELETE FROM {self.table}")


def finding_store(settings: Settings, views: Any) -> FindingStore:
    """The finding's store of this ledger (``views``: its projections, for PostgreSQL)."""
    if settings.postgres is None:
        return FileFindings(settings.data_dir)
    store = TableFindings(views.datastore)
    with creating_tables(settings):
        store.create()
    return store


Listener = Callable[["Finding | None"], None]


class Integrity:
    """The standing finding of one ``ledgerd`` (or one scrub command), and the guard."""

    def __init__(self, store: FindingStore) -> None:
        self.store = store
        self.listeners: list[Listener] = []  # told of each change (the health status)
        self._finding: Finding | None = None
        self._lock = threading.Lock()

    @property
    def finding(self) -> Finding | None:
        return self._finding

    def refresh(self) -> None:
        """Read the store: a finding another process saved or cleared shows here."""
        self._set(self.store.load())

    def report(self, mismatch: Mismatch, found_by: str) -> None:
        """A scrub found ``mismatch``: log it (once), keep it, refuse writes."""
        standing = self._finding
        if standing is not None and standing.mismatch == mismatch:
            return
        finding = Finding.of(mismatch, found_by)
        log.error(
            "%s found that the stored log no longer matches its Merkle tree at %s; "
            "writes are refused until an operator acts: %s",
            found_by,
            mismatch,
            ACTION,
        )
        self.store.save(finding)
        self._set(finding)

    def clear(self) -> Finding | None:
        """A full scrub passed: the finding (returned, if one stood) no longer stands."""
        cleared = self.store.load()
        self.store.clear()
        self._set(None)
        return cleared

    def check_writable(self) -> None:
        """The write guard: IntegrityCompromised while a finding stands."""
        finding = self._finding
        if finding is not None:
            raise IntegrityCompromised(refusal(finding))

    def _set(self, finding: Finding | None) -> None:
        with self._lock:
            changed = finding != self._finding
            self._finding = finding
        if changed:
            if finding is None:
                log.warning("the integrity finding was cleared: writes are accepted again")
            for listener in list(self.listeners):
                listener(finding)


def refusal(finding: Finding) -> str:
    """What a refused write says: where, what, and what the operator must do."""
    return (
        f"writes are refused: the stored log no longer matches its Merkle tree at "
        f"{finding.mismatch} (found by {finding.found_by}); an operator must {ACTION}"
    )
