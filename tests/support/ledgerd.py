"""Real ``ledgerd`` servers for tests: in-process (own thread and event loop) or a subprocess.

Both serve real gRPC over a TCP socket on a free port. The in-process server runs the
same :func:`server.grpc.server.serve` path as ``ledgerd`` itself and exposes its
container for white-box checks; the subprocess is the installed entry point, started
with ``LEDGER_*`` variables and stopped with SIGTERM like in production. Both know the
token of the ledger's admin key (``.token``, see ``tests/support/auth.py``).

With the in-process server, prefer sync clients: an aio client runs a second event
loop in the process, so let its calls end (or cancel them and wait) before its loop
closes, or grpc's poller logs "Event loop is closed".
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import grpc

from ledger.runtime import Runtime
from server.bootstrap import Container
from server.infra.settings import Settings
from server.serve import Ledgerd, serve
from tests.support.auth import channel_to, read_admin_token

START_TIMEOUT = 60.0
READY_LINE = re.compile(r"ledgerd \S+ listening on (\S+:\d+)")
CONSOLE_LINE = re.compile(r"ledgerd console on (\S+)")
# The data dirs of the ledgerd started on each PostgreSQL database: the one that created
# the admin key wrote its token file in its own.
_DATA_DIRS: dict[str, list[Path]] = {}


def _register(database_url: str, data_dir: Path) -> None:
    if database_url:
        known = _DATA_DIRS.setdefault(database_url, [])
        if data_dir not in known:
            known.append(data_dir)


def admin_token(database_url: str, data_dir: Path) -> str:
    """The admin token of the ledger served from ``data_dir`` (or its PostgreSQL database)."""
    return read_admin_token(data_dir, *_DATA_DIRS.get(database_url, ()))


class InProcessLedgerd:
    """A ``ledgerd`` served from a background thread with its own event loop."""

    def __init__(self, settings: Settings, runtime: Runtime | None = None) -> None:
        self.settings = settings
        self.runtime = runtime  # None: the one the settings name
        self.address = ""
        self.console_url = ""  # http://127.0.0.1:<port>/ when the console is on
        self.server: Ledgerd | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ledgerd-test", daemon=True)

    @property
    def container(self) -> Container:
        assert self.server is not None, "not started"
        return self.server.container

    @property
    def token(self) -> str:
        """The token of the ledger's admin key."""
        return admin_token(self.settings.database_url, self.settings.data_dir)

    @contextmanager
    def channel(self) -> Iterator[grpc.Channel]:
        """A channel whose calls sign in with the admin key."""
        with channel_to(self.address, self.token) as channel:
            yield channel

    def start(self) -> InProcessLedgerd:
        _register(self.settings.database_url, self.settings.data_dir)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError("ledgerd did not start in time")
        if self._error is not None:
            raise RuntimeError("ledgerd failed to start") from self._error
        return self

    def stop(self) -> None:
        """Shut down gracefully (health NOT_SERVING, watchers told to resume); idempotent."""
        if self._thread.is_alive() and self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(START_TIMEOUT)
        if self._error is not None:
            raise RuntimeError("ledgerd failed while serving") from self._error

    def __enter__(self) -> InProcessLedgerd:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to the test thread
            self._error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def ready(server: Ledgerd) -> None:
            self.server = server
            self.address = f"127.0.0.1:{server.port}"
            self.console_url = server.console.url if server.console is not None else ""
            self._ready.set()

        await serve(self.settings, self._stop, ready, grace=0.5, runtime=self.runtime)


class LedgerdProcess:
    """The real ``ledgerd`` entry point in a subprocess, configured by ``LEDGER_*`` env."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        self.env = {
            **os.environ,
            "LEDGER_LISTEN": "127.0.0.1:0",
            "LEDGER_CONSOLE_LISTEN": "127.0.0.1:0",
            **env,
        }
        self.cwd = cwd
        self.data_dir = cwd / self.env.get("LEDGER_DATA", ".ledger")
        self.address = ""
        self.console_url = ""
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()

    @property
    def token(self) -> str:
        """The token of the ledger's admin key."""
        return admin_token(self.env.get("LEDGER_DATABASE_URL", ""), self.data_dir)

    @contextmanager
    def channel(self) -> Iterator[grpc.Channel]:
        """A channel whose calls sign in with the admin key."""
        with channel_to(self.address, self.token) as channel:
            yield channel

    def start(self) -> LedgerdProcess:
        if self.process is not None:
            return self
        _register(self.env.get("LEDGER_DATABASE_URL", ""), self.data_dir)
        # No sub-command: plain `ledgerd` serves.
        command = [sys.executable, "-c", "from server.main import main; main()"]
        self.process = subprocess.Popen(
            command,
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("ledgerd did not start:\n" + "".join(self.output))
        return self

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM (graceful shutdown), then SIGKILL if it does not exit in time."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def kill(self) -> int:
        """SIGKILL: a crash, with no chance to clean up."""
        if self.process is None:
            return 0
        self.process.kill()
        return self.process.wait(15)

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.output.append(line)
            console = CONSOLE_LINE.search(line)
            if console:
                self.console_url = console.group(1)
            match = READY_LINE.search(line)
            if match and not self._ready.is_set():
                self.address = match.group(1)
                self._ready.set()

    def __enter__(self) -> LedgerdProcess:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
