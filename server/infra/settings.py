"""Settings, read once from ``LEDGER_*`` environment variables into a typed object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ledger.errors import InvalidArgument

RUNTIMES = ("record", "docker", "swarm")
EVENT_LOOPS = ("uvloop", "asyncio")
REGISTRY = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")
MIN_MESSAGE_BYTES = 128 * 1024
MAX_SECONDS = 3600
LOG_ORIGIN = re.compile(r"[!-*,-~]{1,100}")  # printable ASCII but space and '+' (a key name)
LISTEN_ADDRESS = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):([0-9]{1,5})")
METRICS_KEY = "key"  # /metrics on the console's port, for a deploy key's bearer token
METRICS_OFF = "off"


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
    console_listen: str = "127.0.0.1:8080"  # the web console; empty: no console
    public_url: str = ""  # the console's address as git hosts reach it (webhook URLs)
    runtime: str = "record"
    promotion_deadline_seconds: int = 600
    snapshot_interval: int = 100
    aggregate_cache_size: int = 1000
    hot_apps: int = 1000  # apps whose hot reads are answered from memory; 0: none
    log_level: str = "INFO"
    docker_host: str = ""  # empty: the engine's default socket (or DOCKER_HOST)
    registry: str = ""  # host[:port] every swarm node pulls from; empty: the local image
    max_source_bytes: int = 512 * 1024 * 1024
    build_workers: int = 4
    tls_cert: Path | None = None  # PEM certificate chain: serve TLS (with tls_key)
    tls_key: Path | None = None  # PEM private key of tls_cert
    cipher_key: str = ""  # base64 AES key; empty: the key file
    cipher_key_file: Path | None = None  # default: <data_dir>/cipher.key
    signing_key_file: Path | None = None  # checkpoint signing key; default <data_dir>/signing.key
    log_origin: str = "deploy-ledger"  # the log's name in its signed checkpoints
    # Largest request message (grpc's own RESOURCE_EXHAUSTED beyond it); sources stream in
    # 64 KiB chunks, so this bounds single messages, not uploads.
    max_message_bytes: int = 4 * 1024 * 1024
    rate_limit: int = 1000  # requests per second per key and ledgerd; 0: unlimited
    rate_burst: int = 2000  # requests a key may make at once; from_env: twice rate_limit
    # Longest a command waits for the database (its turn on its app included) before it is
    # refused as UNAVAILABLE; also each read's wait for a connection. Seconds.
    database_timeout: float = 5.0
    scrub_at_start: int = 5000  # newest events compared with the Merkle tree at start; 0: none
    scrub_rate: int = 250  # events per second the background scrub compares; 0: off
    # /metrics: "key" (on the console's port, bearer token of a deploy key), "off", or a
    # host:port serving only /metrics there, without auth (a private network's address).
    metrics: str = METRICS_KEY
    # How long a notification is retried before it is recorded failed and its target moves
    # on to the next event. Seconds.
    notify_give_up_seconds: int = 86400
    # The event loop serving gRPC and the console: "uvloop" (libuv, the default: the
    # loop's own work per call is a large part of a call here), or Python's "asyncio".
    event_loop: str = "uvloop"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        rate_limit = _count(env, "LEDGER_RATE_LIMIT", cls.rate_limit)
        console_listen = _console_listen(env.get("LEDGER_CONSOLE_LISTEN", cls.console_listen))
        settings = cls(
            data_dir=Path(env.get("LEDGER_DATA", ".ledger")),
            database_url=env.get("LEDGER_DATABASE_URL", ""),
            listen=env.get("LEDGER_LISTEN", cls.listen),
            console_listen=console_listen,
            public_url=env.get("LEDGER_PUBLIC_URL", "").strip(),
            runtime=env.get("LEDGER_RUNTIME", cls.runtime),
            event_loop=env.get("LEDGER_EVENT_LOOP", cls.event_loop).strip().lower(),
            promotion_deadline_seconds=_int(env, "LEDGER_PROMOTION_DEADLINE", 600),
            snapshot_interval=_int(env, "LEDGER_SNAPSHOT_INTERVAL", 100),
            aggregate_cache_size=_int(env, "LEDGER_AGGREGATE_CACHE", 1000),
            hot_apps=_count(env, "LEDGER_HOT_APPS", cls.hot_apps),
            log_level=env.get("LEDGER_LOG_LEVEL", "INFO").upper(),
            docker_host=env.get("LEDGER_DOCKER_HOST", env.get("DOCKER_HOST", "")),
            registry=env.get("LEDGER_REGISTRY", "").strip(),
            max_source_bytes=_int(env, "LEDGER_MAX_SOURCE_BYTES", 512 * 1024 * 1024),
            build_workers=_int(env, "LEDGER_BUILD_WORKERS", 4),
            tls_cert=_path(env, "LEDGER_TLS_CERT"),
            tls_key=_path(env, "LEDGER_TLS_KEY"),
            cipher_key=env.get("LEDGER_CIPHER_KEY", "").strip(),
            cipher_key_file=Path(env["LEDGER_CIPHER_KEY_FILE"])
            if env.get("LEDGER_CIPHER_KEY_FILE")
            else None,
            signing_key_file=_path(env, "LEDGER_SIGNING_KEY"),
            log_origin=env.get("LEDGER_LOG_ORIGIN", "").strip() or cls.log_origin,
            max_message_bytes=_int(env, "LEDGER_MAX_MESSAGE_BYTES", cls.max_message_bytes),
            rate_limit=rate_limit,
            rate_burst=_int(env, "LEDGER_RATE_BURST", max(2 * rate_limit, 1)),
            database_timeout=_seconds(env, "LEDGER_DATABASE_TIMEOUT", cls.database_timeout),
            scrub_at_start=_count(env, "LEDGER_SCRUB_AT_START", cls.scrub_at_start),
            scrub_rate=_count(env, "LEDGER_SCRUB_RATE", cls.scrub_rate),
            metrics=_metrics(env.get("LEDGER_METRICS", ""), console_on=bool(console_listen)),
            notify_give_up_seconds=_int(
                env, "LEDGER_NOTIFY_GIVE_UP_SECONDS", cls.notify_give_up_seconds
            ),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.runtime not in RUNTIMES:
            raise InvalidArgument(
                f"LEDGER_RUNTIME={self.runtime!r} is not one of {', '.join(RUNTIMES)}"
            )
        if self.event_loop not in EVENT_LOOPS:
            raise InvalidArgument(
                f"LEDGER_EVENT_LOOP={self.event_loop!r} is not one of {', '.join(EVENT_LOOPS)}"
            )
        if self.registry and not REGISTRY.fullmatch(self.registry):
            raise InvalidArgument(
                "LEDGER_REGISTRY must be a registry's host[:port] (no scheme, no path),"
                " like 127.0.0.1:5000 or registry.example.com"
            )
        if self.database_url and not self.postgres:
            raise InvalidArgument("LEDGER_DATABASE_URL must be a postgresql:// URL")
        if not LOG_ORIGIN.fullmatch(self.log_origin):
            raise InvalidArgument(
                "LEDGER_LOG_ORIGIN must be 1 to 100 printable characters, no spaces and no '+'"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidArgument(
                "LEDGER_TLS_CERT and LEDGER_TLS_KEY go together: set both to serve TLS, or neither"
            )
        if self.max_message_bytes < MIN_MESSAGE_BYTES:
            raise InvalidArgument(
                f"LEDGER_MAX_MESSAGE_BYTES must be at least {MIN_MESSAGE_BYTES} "
                "(ledgerctl sends sources in 64 KiB chunks)"
            )
        if self.rate_limit < 0 or self.rate_burst < 1:
            raise InvalidArgument(
                "LEDGER_RATE_LIMIT must be 0 (unlimited) or more, LEDGER_RATE_BURST at least 1"
            )

        self._validate_metrics()

    def _validate_metrics(self) -> None:
        if self.metrics == METRICS_KEY and not self.console_listen:
            raise InvalidArgument(
                "LEDGER_METRICS=key serves /metrics on the console's port, which is off:"
                " set LEDGER_CONSOLE_LISTEN, or LEDGER_METRICS to off or a host:port"
            )
        if self.metrics in (METRICS_KEY, METRICS_OFF):
            return
        found = LISTEN_ADDRESS.fullmatch(self.metrics)
        if found is None or int(found.group(2)) > 65535:
            raise InvalidArgument(
                "LEDGER_METRICS must be key, off, or a host:port to serve /metrics on"
                " without auth (like 127.0.0.1:9464)"
            )
        if found.group(2) != "0" and self.metrics in (self.listen, self.console_listen):
            raise InvalidArgument(
                "LEDGER_METRICS must be an address of its own, not the API's or the console's"
            )

    @property
    def metrics_listen(self) -> str:
        """The address serving /metrics alone, without auth ('' when it is not served so)."""
        return "" if self.metrics in (METRICS_KEY, METRICS_OFF) else self.metrics

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


def _console_listen(raw: str) -> str:
    """``host:port`` of the console; ``off`` (or empty) turns it off."""
    value = raw.strip()
    return "" if value.lower() in ("", "off", "none") else value


def _metrics(raw: str, *, console_on: bool) -> str:
    """``key``, ``off`` or a ``host:port``; unset: ``key`` with the console, else ``off``."""
    value = raw.strip()
    if not value:
        return METRICS_KEY if console_on else METRICS_OFF
    lowered = value.lower()
    if lowered in (METRICS_KEY, METRICS_OFF, "none"):
        return METRICS_OFF if lowered == "none" else lowered
    return value


def _path(env: Mapping[str, str], key: str) -> Path | None:
    raw = env.get(key, "").strip()
    return Path(raw) if raw else None


def _count(env: Mapping[str, str], key: str, default: int) -> int:
    """A non-negative integer (0 is meaningful: "no limit")."""
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument(f"{key} must be an integer") from None
    if value < 0:
        raise InvalidArgument(f"{key} must not be negative")
    return value


def _seconds(env: Mapping[str, str], key: str, default: float) -> float:
    """A positive duration in seconds, at most :data:`MAX_SECONDS` (fractions allowed)."""
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidArgument(f"{key} must be a number of seconds") from None
    if not 0 < value <= MAX_SECONDS:
        raise InvalidArgument(f"{key} must be more than 0 and at most {MAX_SECONDS} seconds")
    return value


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
