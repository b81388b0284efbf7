"""eventsourcing environment mappings for the ledger and its views.

The views live in the same kind of database as the events: a separate SQLite file
next to the events file (SQLite table names are fixed per file), or the same
PostgreSQL database (tables ``ledger_view<N>_*`` and ``ledgerviewsv<N>_tracking``, N the
schema version).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from eventsourcing.sqlite import SQLiteConnectionPool

SQLITE = "eventsourcing.sqlite"
POSTGRES = "eventsourcing.postgres"
POPO = "eventsourcing.popo"
PASSED_ON = ("CREATE_TABLE", "SQLITE_LOCK_TIMEOUT")  # besides every POSTGRES_* key


def sqlite_env(path: str | Path) -> dict[str, str]:
    """The ledger's events in the SQLite file ``path``."""
    return {"PERSISTENCE_MODULE": SQLITE, "SQLITE_DBNAME": str(path)}


def postgres_env(url: str) -> dict[str, str]:
    """The ledger's events in the PostgreSQL database of ``postgresql://user:pw@host:port/db``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a postgresql:// URL: {parts.scheme}://…")
    return {
        "PERSISTENCE_MODULE": POSTGRES,
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "ledger",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }


def views_env(
    ledger_env: Mapping[str, str], sqlite_path: str | Path | None = None
) -> dict[str, str]:
    """The env for :func:`projections.open_views` that matches a ledger env.

    SQLite: the file ``sqlite_path`` (default: ``<events file stem>-views<suffix>`` beside
    the events file). PostgreSQL: the same database. An in-memory ledger (POPO or an
    in-memory SQLite): in-memory views, private to this process. ``POSTGRES_*``,
    ``CREATE_TABLE`` and ``SQLITE_LOCK_TIMEOUT`` are passed on.
    """
    module = ledger_env.get("PERSISTENCE_MODULE", POPO)
    passed_on = {
        key: value
        for key, value in ledger_env.items()
        if key.startswith("POSTGRES_") or key in PASSED_ON
    }
    if module == POSTGRES:
        return {"PERSISTENCE_MODULE": POSTGRES} | passed_on
    events = ledger_env.get("SQLITE_DBNAME", "")
    if module == SQLITE and not SQLiteConnectionPool.detect_memory_mode(events):
        if sqlite_path is None:
            path = Path(events)
            sqlite_path = path.with_name(f"{path.stem}-views{path.suffix or '.sqlite'}")
        return sqlite_env(sqlite_path) | passed_on
    return {"PERSISTENCE_MODULE": POPO}
