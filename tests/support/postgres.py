"""A private, throwaway PostgreSQL server for tests, started from the machine's binaries.

Only the standard library and psycopg are used. PostgreSQL refuses to run as root, so when
the tests run as root the server runs as the ``postgres`` system user (or ``ledgertest``,
created on demand) via ``runuser``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import psycopg
from psycopg import sql

SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
FALLBACK_USER = "ledgertest"
HOST = "127.0.0.1"
START_ATTEMPTS = 3

MISSING_BINARIES_MESSAGE = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: looked in "
    "`pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH. Install them: on Debian/Ubuntu "
    "`apt-get install postgresql` (or run scripts/install-system-deps.sh as root)."
)


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries are not installed on this machine."""

    def __init__(self, message: str = MISSING_BINARIES_MESSAGE) -> None:
        super().__init__(message)


FAST_BUT_FORGETFUL = ("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
"""Server settings for speed: a crash of the server may lose its last commits."""


class PostgresStartError(RuntimeError):
    """initdb or pg_ctl failed; the message carries their output and the server log."""


def _has_server_binaries(directory: Path) -> bool:
    return all((directory / name).is_file() for name in SERVER_BINARIES)


def _version_key(directory: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin -> numeric version, so 15 sorts after 9.6.
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name))


def find_pg_bin() -> Path | None:
    """Directory holding initdb, pg_ctl and postgres, or None if they are not installed."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(result.stdout.strip()))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is not None:
        candidates.append(Path(pg_ctl).resolve().parent)
    return next((d for d in candidates if _has_server_binaries(d)), None)


def unique_database_name(hint: str = "test") -> str:
    """A valid, unique database name that still says where it came from (e.g. a test name)."""
    slug = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:40] or "test"
    return f"{slug}_{uuid.uuid4().hex[:12]}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _server_user() -> str:
    """The unprivileged user to run PostgreSQL as when we are root."""
    for name in ("postgres", FALLBACK_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    try:  # Another process may have created it meanwhile; only its existence matters.
        pwd.getpwnam(FALLBACK_USER)
    except KeyError:
        raise PostgresStartError(
            f"running as root and could not create system user {FALLBACK_USER!r} to run "
            f"PostgreSQL: {result.stderr.strip()}"
        ) from None
    return FALLBACK_USER


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary directory, on a free port of 127.0.0.1.

    Use as a context manager, or call start() and stop(). Authentication is ``trust``; the
    superuser is ``postgres``.
    """

    def __init__(self, bin_dir: Path | None = None, *, durable: bool = False) -> None:
        """``durable``: fsync and synchronous commits on, as in production, so that a
        crash of the server (``pg_ctl stop -m immediate``) loses no acknowledged commit;
        off by default, where only speed matters (the tests never crash the server)."""
        self.bin_dir = bin_dir
        self.durable = durable
        self.host = HOST
        self.port = 0
        self.base_dir: Path | None = None
        self._run_as: str | None = None

    @property
    def running(self) -> bool:
        return self.base_dir is not None

    @property
    def data_dir(self) -> Path:
        return self._base() / "data"

    @property
    def log_file(self) -> Path:
        return self._base() / "postgres.log"

    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("PostgresServer is not started")
        return self.base_dir

    # --- lifecycle ---

    def start(self) -> PostgresServer:
        if self.running:
            return self
        bin_dir = self.bin_dir or find_pg_bin()
        if bin_dir is None or not _has_server_binaries(bin_dir):
            raise PostgresUnavailableError()
        self.bin_dir = bin_dir
        self._run_as = _server_user() if os.geteuid() == 0 else None
        self.base_dir = self._make_base_dir()
        atexit.register(self.stop)
        try:
            (self.base_dir / "sock").mkdir()
            if self._run_as is not None:
                shutil.chown(self.base_dir / "sock", user=self._run_as)
            # --locale=C: same collation everywhere, whatever the caller's LANG is.
            initdb_args = ["-D", str(self.data_dir), "-A", "trust", "-U", "postgres"]
            self._run("initdb", [*initdb_args, "--no-sync", "-E", "UTF8", "--locale=C"])
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server at once (no clean shutdown: the data is thrown away) and clean up."""
        base_dir, self.base_dir = self.base_dir, None
        atexit.unregister(self.stop)
        if base_dir is None:
            return
        if (base_dir / "data" / "postmaster.pid").exists():
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(
                    self._command(
                        "pg_ctl", ["stop", "-D", str(base_dir / "data"), "-m", "immediate", "-w"]
                    ),
                    cwd=base_dir,
                    env=self._env(),
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
        shutil.rmtree(base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- use ---

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{quote(database, safe='')}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    # --- internals ---

    def _make_base_dir(self) -> Path:
        """A temp dir the server user owns and can reach (every parent traversable by it)."""
        parents = [tempfile.gettempdir()]
        if self._run_as is not None and "/tmp" not in parents:
            parents.append("/tmp")  # e.g. TMPDIR under root's private home
        for parent in parents:
            base = Path(tempfile.mkdtemp(prefix="ledger-pg-", dir=parent))
            if self._run_as is None:
                return base
            shutil.chown(base, user=self._run_as)
            reachable = subprocess.run(
                ["runuser", "-u", self._run_as, "--", "test", "-w", str(base)],
                cwd="/",
                capture_output=True,
                check=False,
            )
            if reachable.returncode == 0:
                return base
            shutil.rmtree(base, ignore_errors=True)
        raise PostgresStartError(
            f"no temporary directory reachable by user {self._run_as!r} "
            f"(tried {', '.join(parents)}); set TMPDIR to a world-traversable directory"
        )

    def _start_server(self) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = _free_port()
            try:
                self._pg_ctl_start()
                return
            except PostgresStartError:
                # Someone may have taken the port between our probe and the server's bind.
                if attempt == START_ATTEMPTS or "already in use" not in self._log_tail():
                    raise

    def _pg_ctl_start(self) -> None:
        sock_dir = self._base() / "sock"
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {shlex.quote(str(sock_dir))}",
                f"-c listen_addresses={self.host}",
                *([] if self.durable else FAST_BUT_FORGETFUL),
                "-c max_connections=300",
            ]
        )
        args = ["-w", "-D", str(self.data_dir), "-o", options, "-l", str(self.log_file)]
        self._run("pg_ctl", [*args, "start"])

    def pause(self) -> None:
        """Stop the server as an outage would (fast shutdown: every connection is cut),
        keeping its data and its port for :meth:`resume`."""
        self._run("pg_ctl", ["stop", "-D", str(self.data_dir), "-m", "fast", "-w"])

    def resume(self) -> None:
        """Start a paused server again, on the same port, with the same data."""
        self._pg_ctl_start()

    def _command(self, program: str, args: list[str]) -> list[str]:
        assert self.bin_dir is not None
        command = [str(self.bin_dir / program), *args]
        if self._run_as is not None:
            command = ["runuser", "-u", self._run_as, "--", *command]
        return command

    @staticmethod
    def _env() -> dict[str, str]:
        # PG* variables of the caller (PGDATA, PGPORT, ...) must not leak into our cluster.
        return {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def _run(self, program: str, args: list[str]) -> None:
        command = self._command(program, args)
        result = subprocess.run(
            command,
            cwd=self._base(),
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresStartError(
                f"{shlex.join(command)} failed with exit code {result.returncode}\n"
                f"--- output ---\n{result.stdout}{result.stderr}"
                f"--- server log ({self.log_file}) ---\n{self._log_tail()}"
            )

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no log)\n"
        return "\n".join(text.splitlines()[-lines:]) + "\n"
