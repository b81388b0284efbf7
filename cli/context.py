"""The per-invocation state every command works with: settings, injected I/O, the client.

Why one object: ``main()`` receives stdout, stderr and the environment from its caller
(tests, scripts), so nothing below it may reach for ``sys.stdout`` or ``os.environ``.
Commands get this object from click (``ctx.obj``) and write only through it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click

from cli import render
from cli.client import LedgerClient
from cli.errors import EXIT_USAGE, CliError
from cli.transport import DEFAULT_HOST, DEFAULT_TIMEOUT, Transport


@dataclass
class Session:
    """Settings and I/O for one run of ``ledgerctl``, plus the lazily opened client."""

    stdout: IO[str]
    stderr: IO[str]
    environ: Mapping[str, str]
    host: str = DEFAULT_HOST
    token: str | None = None
    ca: str | None = None  # file of PEM CA certificates: TLS, verified with them
    tls: bool = False  # TLS verified with the system's roots
    json: bool = False
    app: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _client: LedgerClient | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> LedgerClient:
        """The gRPC client; the channel opens on the first call."""
        if self._client is None:
            transport = Transport(
                host=self.host,
                token=self.token,
                ca=self._read_ca(),
                tls=self.tls,
                timeout=self.timeout,
                sleep=self.sleep,
            )
            self._client = LedgerClient(transport)
        return self._client

    def configure(
        self,
        *,
        host: str | None,
        token: str | None,
        as_json: bool,
        app: str | None,
        ca: str | None = None,
        tls: bool = False,
    ) -> None:
        """Apply the global options; unset ones fall back to ``LEDGER_HOST``,
        ``LEDGER_TOKEN``, ``LEDGER_APP`` and ``LEDGER_CA`` (a blank token means none)."""
        self.host = host or self.environ.get("LEDGER_HOST") or DEFAULT_HOST
        self.token = (token or self.environ.get("LEDGER_TOKEN") or "").strip() or None
        self.ca = ca or self.environ.get("LEDGER_CA") or None
        self.tls = tls
        self.json = as_json
        self.app = app or self.environ.get("LEDGER_APP") or None

    def _read_ca(self) -> bytes | None:
        if self.ca is None:
            return None
        try:
            return Path(self.ca).read_bytes()
        except OSError as error:
            message = f"cannot read the CA file {self.ca}: {error.strerror}"
            raise CliError(message, EXIT_USAGE) from None

    def close(self) -> None:
        """Close the channel, if one was opened."""
        if self._client is not None:
            self._client.transport.close()

    def now(self) -> datetime:
        """The current time (UTC), for relative times like ``--since 2h``."""
        return datetime.now(UTC)

    def require_app(self) -> str:
        """The app from ``-a/--app`` or ``LEDGER_APP``; a usage error when neither is set."""
        if not self.app:
            raise click.UsageError("no app given: pass -a/--app APP or set LEDGER_APP")
        return self.app

    # ------------------------------------------------------------------ output

    def out(self, text: str = "") -> None:
        """One line (or block) on stdout."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def err(self, text: str) -> None:
        """One line on stderr (progress and notes, never data)."""
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def emit(self, data: Any, human: Callable[[], str]) -> None:
        """JSON when ``--json``, else the human text ``human()`` builds."""
        self.out(render.dumps(data) if self.json else human())

    def write_bytes(self, data: bytes) -> None:
        """Raw bytes on stdout (build logs): through the binary buffer when there is one."""
        buffer = getattr(self.stdout, "buffer", None)
        if buffer is not None:
            self.stdout.flush()
            buffer.write(data)
            buffer.flush()
        else:
            self.stdout.write(data.decode("utf-8", errors="replace"))
            self.stdout.flush()


def session_of(ctx: click.Context) -> Session:
    """The Session of the running command."""
    obj = ctx.find_root().obj
    assert isinstance(obj, Session)
    return obj
