"""Start and stop ``ledgerd`` (and a throwaway PostgreSQL) as separate processes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from bench import procstat

ROOT = Path(__file__).resolve().parent.parent
LEDGERD = ROOT / ".venv" / "bin" / "ledgerd"
LEDGERCTL = ROOT / ".venv" / "bin" / "ledgerctl"
READY = "listening on"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ledgerd() -> list[str]:
    if LEDGERD.exists():
        return [str(LEDGERD)]
    return [sys.executable, "-c", "from server.main import main; main()"]


def ledgerctl() -> list[str]:
    """How to run ``ledgerctl``: the clone's entry point, else this interpreter on the
    source tree (run it with ``cwd=ROOT``)."""
    return [str(LEDGERCTL)] if LEDGERCTL.exists() else [sys.executable, "-m", "cli"]


class Ledgerd:
    """One ``ledgerd`` process on a free port of 127.0.0.1, ``record`` runtime.

    SQLite files go to ``data_dir`` (a new temp dir when neither it nor ``database_url``
    is given). stderr goes to ``log`` so nothing blocks on a full pipe and the log can be
    checked for errors afterwards.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        database_url: str = "",
        extra_env: dict[str, str] | None = None,
        workdir: Path | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.command = command or _ledgerd()  # how to run it (default: the entry point)
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="ledger-bench-"))
        self.database_url = database_url
        self.data_dir = data_dir or self.workdir / "data"
        self.extra_env = extra_env or {}
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.workdir / "ledgerd.log"
        self.starts = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None, "ledgerd is not running"
        return self.proc.pid

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        # The benchmark measures the server, not the per-key rate limit: switch it off.
        env.update(
            LEDGER_RUNTIME="record",
            LEDGER_LISTEN=self.target,
            LEDGER_RATE_LIMIT="0",
            LEDGER_CONSOLE_LISTEN="off",
        )
        env["LEDGER_DATA"] = str(self.data_dir)  # keys and tokens live there on both backends
        if self.database_url:
            env["LEDGER_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def token(self) -> str:
        """The admin token the ledger wrote on its first start ('' until then)."""
        path = self.data_dir / "admin.token"
        return path.read_text().strip() if path.exists() else ""

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait for ``listening on``; returns the seconds it took."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()  # a restart keeps the port: clients reconnect
        offset = self.log.stat().st_size if self.log.exists() else 0
        t0 = time.perf_counter()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.starts += 1
        while time.perf_counter() - t0 < timeout:
            if READY in self._log_text(offset):
                return time.perf_counter() - t0
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        code = self.stop()
        raise RuntimeError(f"ledgerd did not start (exit {code}); log:\n{self.tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (then SIGKILL) to our ledgerd only; returns its exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def restart(self) -> float:
        self.stop()
        return self.start()

    def rss_kb(self) -> int:
        return procstat.status_kb(self.pid, "VmRSS")

    def hwm_kb(self) -> int:
        return procstat.status_kb(self.pid, "VmHWM")

    def threads(self) -> int:
        return procstat.status_kb(self.pid, "Threads")

    def run_cli(self, *args: str, timeout: float = 1800.0) -> tuple[float, str]:
        """Run ``ledgerd ARGS`` on the same ledger; returns (seconds, output)."""
        t0 = time.perf_counter()
        done = subprocess.run(
            [*_ledgerd(), *args],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        secs = time.perf_counter() - t0
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise RuntimeError(f"ledgerd {' '.join(args)} exited {done.returncode}:\n{output}")
        return secs, output

    def _log_text(self, offset: int = 0) -> str:
        try:
            with open(self.log, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self._log_text().splitlines()[-lines:])

    def problems(self) -> list[str]:
        """Log lines that look like trouble (tracebacks, errors, warnings), deduplicated."""
        seen: dict[str, int] = {}
        for line in self._log_text().splitlines():
            if re.search(r"Traceback|ERROR|CRITICAL|WARNING|Exception|Error:", line):
                key = re.sub(r"\d+", "N", line.strip())[:200]
                seen[key] = seen.get(key, 0) + 1
        return [f"{n}x {line}" for line, n in seen.items()]

    def __enter__(self) -> Ledgerd:
        self.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class Postgres:
    """The tests' throwaway PostgreSQL server, with one fresh database per use."""

    def __init__(self, *, durable: bool = False) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.support.postgres import PostgresServer

        self.server = PostgresServer(durable=durable)

    def start(self) -> Postgres:
        self.server.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.stop()

    def database(self, hint: str) -> str:
        """A new empty database; returns its URL."""
        from tests.support.postgres import unique_database_name

        return self.server.create_database(unique_database_name(hint))

    def pids(self) -> list[int]:
        return procstat.pids_named("postgres")
