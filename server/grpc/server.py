"""The grpc.aio server: the Ledger and Keys servicers plus health checking and reflection.

grpc.aio rather than the thread-pool server because WatchEvents streams live for
hours: in aio a watcher is a coroutine, not a pinned thread (notes/grpc.md §1.1).
Options follow notes/grpc.md §1.4: keepalive that lets watch clients ping every
30-60 s, connections recycled every ~30 min so long-lived watchers rebalance,
requests of at most ``LEDGER_MAX_MESSAGE_BYTES`` (4 MiB), and a generous concurrent-RPC
ceiling as an overload guard. Every call but health checks and reflection passes the
authentication interceptor (``server/grpc/interceptor.py``), then the per-key request rate
limit (``server/grpc/limits.py``). With ``LEDGER_TLS_CERT`` and ``LEDGER_TLS_KEY`` the port
serves TLS only. The web console (``server/console/``) is started and stopped with it, on
``LEDGER_CONSOLE_LISTEN``, sharing its backend and guard.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ledger_api.v1 import ledger_pb2, ledger_pb2_grpc
from server.backend import Backend
from server.bootstrap import Container, bootstrap
from server.console.server import ConsoleServer
from server.grpc.interceptor import AuthInterceptor
from server.grpc.limits import RateLimiter, RateLimitInterceptor
from server.grpc.servicers import KeysServicer, LedgerServicer
from server.guard import Guard
from server.infra.authn import Authenticator
from server.infra.settings import Settings
from server.infra.tls import server_credentials

log = logging.getLogger("ledgerd")

SERVICE_NAME: str = ledger_pb2.DESCRIPTOR.services_by_name["Ledger"].full_name
KEYS_SERVICE_NAME: str = ledger_pb2.DESCRIPTOR.services_by_name["Keys"].full_name
HEALTH_SERVICE_NAME: str = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
MAX_RECEIVE_BYTES = 4 * 1024 * 1024
MAX_CONCURRENT_RPCS = 10_000
DEFAULT_GRACE_SECONDS = 5.0
RESCAN_SECONDS = 5.0  # how soon a live ledgerd takes over the promotions of a dead one


def server_options(max_receive_bytes: int = MAX_RECEIVE_BYTES) -> list[tuple[str, int]]:
    # Jitter the connection age so that watchers do not all reconnect at once.
    age_ms = 30 * 60_000 + random.randint(0, 5 * 60_000)
    return [
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 30_000),
        ("grpc.http2.max_ping_strikes", 2),
        ("grpc.max_connection_age_ms", age_ms),
        ("grpc.max_connection_age_grace_ms", 5 * 60_000),
        ("grpc.max_receive_message_length", max_receive_bytes),
        # A second ledgerd on a busy port must fail, not silently share it.
        ("grpc.so_reuseport", 0),
    ]


class LedgerServer:
    """One listening ``ledgerd``: serves the container's ledger on ``listen``.

    Must be started and stopped on the event loop it serves from.
    """

    def __init__(
        self, container: Container, listen: str, credentials: grpc.ServerCredentials | None = None
    ) -> None:
        self.container = container
        self.listen = listen
        self.credentials = credentials  # None: plaintext
        self.port = 0
        self.backend = Backend(container)
        self.health = health.aio.HealthServicer()
        self.authenticator = Authenticator(container.views)
        container.worker.add_listener(self.authenticator.on_events)  # revocations
        self.guard = Guard(self.backend, self.authenticator)
        # The web console: the same backend and guard, on a port of its own.
        self.console = (
            ConsoleServer(container.settings, self.backend, self.guard)
            if container.settings.console_listen
            else None
        )
        self._server = grpc.aio.server(
            options=server_options(container.settings.max_message_bytes),
            maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
            # Authentication first: the rate limit charges the key it authenticated.
            interceptors=[
                AuthInterceptor(self.guard),
                RateLimitInterceptor(
                    RateLimiter(container.settings.rate_limit, container.settings.rate_burst)
                ),
            ],
        )
        ledger_pb2_grpc.add_LedgerServicer_to_server(LedgerServicer(self.backend), self._server)
        ledger_pb2_grpc.add_KeysServicer_to_server(
            KeysServicer(self.backend, self.authenticator), self._server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, KEYS_SERVICE_NAME, HEALTH_SERVICE_NAME, reflection.SERVICE_NAME),
            self._server,
        )

    async def start(self) -> int:
        """Bind, start serving, report SERVING; returns the port bound."""
        if self.credentials is None:
            self.port = self._server.add_insecure_port(self.listen)
        else:
            self.port = self._server.add_secure_port(self.listen, self.credentials)
        if not self.port:
            raise OSError(f"cannot listen on {self.listen}")
        self.container.broadcaster.bind(asyncio.get_running_loop(), self.container.views.position())
        if self.console is not None:  # a busy console port fails the start, before serving
            await self.console.start()
        await self._server.start()
        for name in ("", SERVICE_NAME, KEYS_SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.port

    async def stop(self, grace: float = DEFAULT_GRACE_SECONDS) -> None:
        """NOT_SERVING first (so balancers drain us), refuse new calls, end watch
        streams with where to resume, give calls in flight ``grace`` seconds, then stop."""
        await self.health.enter_graceful_shutdown()
        # Refusing new calls before the watch streams end: a watcher that reconnects
        # at once is told UNAVAILABLE, never admitted and then cut by the shutdown.
        stopping = asyncio.create_task(self._server.stop(grace))
        await asyncio.sleep(0)
        self.container.broadcaster.close()  # ends watch streams and the console's live pages
        if self.console is not None:
            await self.console.stop()
        await stopping
        self.container.worker.remove_listener(self.authenticator.on_events)
        await asyncio.to_thread(self.backend.close)

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()

    @property
    def address(self) -> str:
        host = self.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    ready: Callable[[LedgerServer], None] = lambda server: None,
    grace: float = DEFAULT_GRACE_SECONDS,
) -> None:
    """Bootstrap, start, serve until ``stop`` is set, then shut down gracefully.

    The one serving path, used by ``ledgerd`` and by the in-process test server.
    """
    credentials = server_credentials(settings)  # bad TLS files: fail before anything runs
    container = bootstrap(settings)
    try:
        await asyncio.to_thread(container.start)
        server = LedgerServer(container, settings.listen, credentials)
        await server.start()
        ready(server)
        rescanning = asyncio.create_task(_rescan(container)) if settings.postgres else None
        await stop.wait()
        log.info("shutting down")
        if rescanning is not None:
            rescanning.cancel()
        await server.stop(grace)
    finally:
        await asyncio.to_thread(container.close)


async def _rescan(container: Container) -> None:
    """With several ledgerd on one database: take over promotions a dead process left."""
    while True:
        await asyncio.sleep(RESCAN_SECONDS)
        try:
            await asyncio.to_thread(container.rescan)
        except Exception:  # a database hiccup must not end the loop
            log.exception("scanning promotions in flight failed")
