"""Serving the console: Hypercorn on the ``ledgerd`` event loop, on its own port.

Hypercorn is started with a shutdown trigger, so it never touches the process's signal
handlers (``ledgerd`` owns SIGTERM). The socket is bound here first so that port 0 works
(tests) and a busy port fails ``ledgerd``'s start with a clear error. The same machinery
serves ``/metrics`` on an address of its own when so configured (:class:`MetricsServer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from server.backend import Backend
from server.console import metrics
from server.console.app import create_app, templates
from server.console.context import Console
from server.console.sessions import Sessions
from server.infra.settings import Settings

log = logging.getLogger("ledgerd.console")

GRACE_SECONDS = 2.0


class ConsoleServer:
    """The web console of one ``ledgerd``; started and stopped on the loop it serves from."""

    def __init__(self, settings: Settings, backend: Backend) -> None:
        self.settings = settings
        self.console = Console(
            backend=backend,
            sessions=Sessions(),
            templates=templates(),
            secure_cookies=settings.tls_cert is not None,
        )
        self.port = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = self.settings.console_listen.rsplit(":", 1)[0] or "127.0.0.1"
        scheme = "https" if self.settings.tls_cert is not None else "http"
        return f"{scheme}://{host}:{self.port}/"

    async def start(self) -> int:
        """Bind and start serving; returns the port bound."""
        sock = bind(self.settings.console_listen)
        self.port = sock.getsockname()[1]
        app = create_app(self.console)
        self._task = serve_on(sock, app, self._stop, self.settings)
        return self.port

    async def stop(self) -> None:
        """Stop accepting, let requests end (live streams end with the broadcaster)."""
        self._stop.set()
        await stopped(self._task, "the console")


def serve_on(
    sock: socket.socket, app: Any, stop: asyncio.Event, tls: Settings | None = None
) -> asyncio.Task[None]:
    """Serve ``app`` with Hypercorn on ``sock`` until ``stop`` is set (TLS if ``tls``'s
    certificate is set)."""
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # Hypercorn owns (and closes) it from here
    config.graceful_timeout = GRACE_SECONDS
    config.accesslog = None
    # Hypercorn's own "Running on … (CTRL + C to quit)" would contradict ledgerd (which
    # owns the signals and announces the console itself): only its warnings are logged.
    hypercorn_log = logging.getLogger("ledgerd.console.http")
    hypercorn_log.setLevel(logging.WARNING)
    config.errorlog = hypercorn_log
    if tls is not None and tls.tls_cert is not None and tls.tls_key is not None:
        config.certfile = str(tls.tls_cert)
        config.keyfile = str(tls.tls_key)
    return asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))


async def stopped(task: asyncio.Task[None] | None, what: str) -> None:
    """Wait for a server task that was told to stop (Hypercorn's grace, then a margin)."""
    if task is None:
        return
    with contextlib.suppress(asyncio.CancelledError):
        try:
            await asyncio.wait_for(task, GRACE_SECONDS + 3)
        except TimeoutError:
            log.warning("%s did not stop in time", what)


def bind(listen: str, what: str = "the console") -> socket.socket:
    """A listening TCP socket on ``host:port`` (OSError with the address if it cannot)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.set_inheritable(True)
    except (OSError, ValueError) as error:
        raise OSError(f"{what} cannot listen on {listen}: {error}") from None
    return sock


class MetricsServer:
    """``/metrics`` alone on an address of its own (``LEDGER_METRICS=host:port``), without
    auth and without TLS: meant for a private network that only Prometheus reaches."""

    def __init__(self, listen: str, backend: Backend) -> None:
        self.listen = listen
        self.backend = backend
        self.port = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = self.listen.rsplit(":", 1)[0] or "127.0.0.1"
        return f"http://{host}:{self.port}{metrics.PATH}"

    async def start(self) -> int:
        """Bind (a busy address fails the start) and serve; returns the port bound."""
        sock = bind(self.listen, "/metrics")
        self.port = sock.getsockname()[1]
        self._task = serve_on(sock, metrics.open_app(self.backend), self._stop)
        return self.port

    async def stop(self) -> None:
        self._stop.set()
        await stopped(self._task, "/metrics")
