"""The grpc.aio server: the Ledger and Keys servicers plus health checking and reflection.

grpc.aio rather than the thread-pool server because WatchEvents streams live for
hours: in aio a watcher is a coroutine, not a pinned thread. Options: keepalive that lets
watch clients ping every 30-60 s, connections recycled every ~30 min so long-lived
watchers rebalance, requests of at most ``LEDGER_MAX_MESSAGE_BYTES`` (4 MiB), and a
generous concurrent-RPC ceiling as an overload guard. Every call but health checks and
reflection passes the admission interceptor (:mod:`server.grpc.interceptor`), then the
per-key request rate limit (:mod:`server.grpc.limits`). With ``LEDGER_TLS_CERT`` and
``LEDGER_TLS_KEY`` the port serves TLS only. :mod:`server.serve` starts and stops it with
the web console.
"""

from __future__ import annotations

import logging
import random

import grpc
from grpc_health.v1 import health, health_pb2
from grpc_health.v1.health_pb2_grpc import add_HealthServicer_to_server as add_health_to_server
from grpc_reflection.v1alpha import reflection

from ledger_api.v1 import ledger_pb2, ledger_pb2_grpc
from server.backend import Backend
from server.grpc.interceptor import AuthInterceptor
from server.grpc.limits import RateLimiter, RateLimitInterceptor
from server.grpc.metrics import MetricsInterceptor
from server.grpc.registration import add_generic
from server.grpc.servicers import KeysServicer, LedgerServicer
from server.grpc.watch_wire import register_ledger
from server.infra.settings import Settings

log = logging.getLogger("ledgerd")

SERVICE_NAME: str = ledger_pb2.DESCRIPTOR.services_by_name["Ledger"].full_name
KEYS_SERVICE_NAME: str = ledger_pb2.DESCRIPTOR.services_by_name["Keys"].full_name
HEALTH_SERVICE_NAME: str = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
# A health name of its own (no such gRPC service): SERVING while scrubs found the stored
# log matching its Merkle tree, NOT_SERVING while a finding stands (writes are refused,
# reads work, so the overall health and the Ledger service stay SERVING).
INTEGRITY_NAME = "ledger.v1.Integrity"
MAX_RECEIVE_BYTES = 4 * 1024 * 1024
MAX_CONCURRENT_RPCS = 10_000


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


class GrpcServer:
    """The API of one ``ledgerd`` on ``listen``; started and stopped on the event loop it
    serves from."""

    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        credentials: grpc.ServerCredentials | None = None,
    ) -> None:
        self.listen = settings.listen
        self.credentials = credentials  # None: plaintext
        self.port = 0
        self.health = health.aio.HealthServicer()
        self._server = grpc.aio.server(
            options=server_options(settings.max_message_bytes),
            maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
            # Metrics outermost (refused calls count too); authentication before the rate
            # limit, which charges the key it authenticated.
            interceptors=[
                MetricsInterceptor(backend.container.metrics.requests),
                AuthInterceptor(backend),
                RateLimitInterceptor(RateLimiter(settings.rate_limit, settings.rate_burst)),
            ],
        )
        register_ledger(LedgerServicer(backend), self._server)  # WatchEvents sends bytes
        add_generic(ledger_pb2_grpc.add_KeysServicer_to_server, KeysServicer(backend), self._server)
        add_generic(add_health_to_server, self.health, self._server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, KEYS_SERVICE_NAME, HEALTH_SERVICE_NAME, reflection.SERVICE_NAME),
            self._server,
        )

    def bind(self) -> int:
        """Bind the port (before anything serves, so a busy port fails the start)."""
        if self.credentials is None:
            self.port = self._server.add_insecure_port(self.listen)
        else:
            self.port = self._server.add_secure_port(self.listen, self.credentials)
        if not self.port:
            raise OSError(f"cannot listen on {self.listen}")
        return self.port

    async def start(self) -> None:
        """Start serving and report SERVING."""
        await self._server.start()
        for name in ("", SERVICE_NAME, KEYS_SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def show_integrity(self, clean: bool) -> None:
        """Report :data:`INTEGRITY_NAME` as SERVING (``clean``) or NOT_SERVING."""
        status = health_pb2.HealthCheckResponse
        await self.health.set(INTEGRITY_NAME, status.SERVING if clean else status.NOT_SERVING)

    async def stop(self, grace: float) -> None:
        """Refuse new calls, give calls in flight ``grace`` seconds, then stop."""
        await self._server.stop(grace)

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()

    @property
    def address(self) -> str:
        host = self.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"
