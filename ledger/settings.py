"""Settings, read once from ``LEDGER_*`` environment variables into a typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ledger.errors import InvalidArgument

RUNTIMES = ("record", "docker")


@dataclass(frozen=True)
class PostgresTarget:
    host: str
    port: int
    user: str
    password: str
    dbname: str


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one ``ledgerd`` process.

    ``database_url`` empty means the embedded default: SQLite files under
    ``data_dir``. A ``postgresql://`` URL selects PostgreSQL, which also lets several
    ``ledgerd`` processes serve one ledger.
    """

    data_dir: Path = Path(".ledger")
    database_url: str = ""
    listen: str = "127.0.0.1:50051"
    runtime: str = "record"
    promotion_deadline_seconds: int = 600
    snapshot_interval: int = 100
    aggregate_cache_size: int = 1000
    log_level: str = "INFO"
    docker_host: str = ""  # empty: the engine's default socket (or DOCKER_HOST)
    max_source_bytes: int = 512 * 1024 * 1024
    build_workers: int = 4

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            data_dir=Path(env.get("LEDGER_DATA", ".ledger")),
            database_url=env.get("LEDGER_DATABASE_URL", ""),
            listen=env.get("LEDGER_LISTEN", cls.listen),
            runtime=env.get("LEDGER_RUNTIME", cls.runtime),
            promotion_deadline_seconds=_int(env, "LEDGER_PROMOTION_DEADLINE", 600),
            snapshot_interval=_int(env, "LEDGER_SNAPSHOT_INTERVAL", 100),
            aggregate_cache_size=_int(env, "LEDGER_AGGREGATE_CACHE", 1000),
            log_level=env.get("LEDGER_LOG_LEVEL", "INFO").upper(),
            docker_host=env.get("LEDGER_DOCKER_HOST", env.get("DOCKER_HOST", "")),
            max_source_bytes=_int(env, "LEDGER_MAX_SOURCE_BYTES", 512 * 1024 * 1024),
            build_workers=_int(env, "LEDGER_BUILD_WORKERS", 4),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.runtime not in RUNTIMES:
            raise InvalidArgument(
                f"LEDGER_RUNTIME={self.runtime!r} is not one of {', '.join(RUNTIMES)}"
            )
        if self.database_url and not self.postgres:
            raise InvalidArgument("LEDGER_DATABASE_URL must be a postgresql:// URL")

    @property
    def postgres(self) -> PostgresTarget | None:
        """The PostgreSQL server to use, or None for the embedded SQLite default."""
        if not self.database_url:
            return None
        url = urlsplit(self.database_url)
        if url.scheme not in ("postgresql", "postgres"):
            return None
        return PostgresTarget(
            host=url.hostname or "127.0.0.1",
            port=url.port or 5432,
            user=unquote(url.username or "postgres"),
            password=unquote(url.password or ""),
            dbname=url.path.lstrip("/") or "ledger",
        )


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{key} must be an integer") from None
    if value <= 0:
        raise InvalidArgument(f"{key} must be positive")
    return value
