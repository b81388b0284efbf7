"""One running ``ledgerd``: the container, the gRPC API and the web console, together.

:func:`serve` is the one serving path, used by ``ledgerd`` and by the in-process test
server: bootstrap, start, serve until asked to stop, then shut down gracefully, in an
order that lets clients resume elsewhere (see :meth:`Ledgerd.stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import grpc

from ledger.runtime import Runtime
from server.backend import Backend
from server.bootstrap import Container, bootstrap
from server.console.server import ConsoleServer, MetricsServer
from server.grpc.server import GrpcServer
from server.infra.integrity import Finding, Integrity
from server.infra.persistence import failure_summary
from server.infra.scrubbing import BackgroundScrub, guard_writes
from server.infra.settings import Settings
from server.infra.tls import server_credentials

log = logging.getLogger("ledgerd")

DEFAULT_GRACE_SECONDS = 5.0
RESCAN_SECONDS = 5.0  # how soon a live ledgerd takes over the promotions of a dead one


class Ledgerd:
    """The entry points of one process over its container, sharing one backend."""

    def __init__(
        self, container: Container, credentials: grpc.ServerCredentials | None = None
    ) -> None:
        settings = container.settings
        self.container = container
        self.backend = Backend(container)
        container.worker.add_listener(self.backend.authenticator.on_events)  # revocations
        self.api = GrpcServer(self.backend, settings, credentials)
        # The web console: the same backend, on a port of its own.
        self.console = ConsoleServer(settings, self.backend) if settings.console_listen else None
        # /metrics alone on an address of its own (else on the console's port, or off).
        listen = settings.metrics_listen
        self.metrics = MetricsServer(listen, self.backend) if listen else None

    @property
    def port(self) -> int:
        return self.api.port

    @property
    def address(self) -> str:
        return self.api.address

    async def start(self) -> int:
        """Bind, start serving, report SERVING; returns the API's port."""
        self.api.bind()
        self.container.broadcaster.bind(asyncio.get_running_loop(), self.container.views.position())
        if self.console is not None:  # a busy console port fails the start, before serving
            await self.console.start()
            self.backend.public_url = self.backend.public_url or self.console.url
        if self.metrics is not None:
            await self.metrics.start()
        await self.api.start()
        return self.port

    async def show_integrity(self, integrity: Integrity) -> None:
        """Report the standing finding as the ``ledger.v1.Integrity`` health, now and on
        each change (changes come from scrub threads)."""
        loop = asyncio.get_running_loop()

        def show(finding: Finding | None) -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop: the server is gone
                asyncio.run_coroutine_threadsafe(self.api.show_integrity(finding is None), loop)

        integrity.listeners.append(show)
        await self.api.show_integrity(integrity.finding is None)

    async def stop(self, grace: float = DEFAULT_GRACE_SECONDS) -> None:
        """NOT_SERVING first (so balancers drain us), refuse new calls, end watch
        streams with where to resume, give calls in flight ``grace`` seconds, then stop."""
        await self.api.health.enter_graceful_shutdown()
        # Refusing new calls before the watch streams end: a watcher that reconnects
        # at once is told UNAVAILABLE, never admitted and then cut by the shutdown.
        stopping = asyncio.create_task(self.api.stop(grace))
        await asyncio.sleep(0)
        self.container.broadcaster.close()  # ends watch streams and the console's live pages
        if self.console is not None:
            await self.console.stop()
        if self.metrics is not None:
            await self.metrics.stop()
        await stopping
        self.container.worker.remove_listener(self.backend.authenticator.on_events)
        await asyncio.to_thread(self.backend.close)


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    ready: Callable[[Ledgerd], None] = lambda server: None,
    grace: float = DEFAULT_GRACE_SECONDS,
    runtime: Runtime | None = None,
) -> None:
    """Bootstrap, start, serve until ``stop`` is set, then shut down gracefully.

    ``runtime``: instead of the one the settings name (tests script one that fails)."""
    credentials = server_credentials(settings)  # bad TLS files: fail before anything runs
    container = bootstrap(settings, runtime)
    scrubbing: BackgroundScrub | None = None
    try:
        # Before anything writes (the start records the version, resumes promotions): the
        # standing finding, then a scrub of the newest events (its cost: docs/operations.md),
        # arm the write guard.
        integrity, scrub = await asyncio.to_thread(
            guard_writes, container.ledger, container.views, settings
        )
        await asyncio.to_thread(container.start)
        server = Ledgerd(container, credentials)
        await server.start()
        await server.show_integrity(integrity)
        # Also with a rate of 0: it reads the standing finding that a command may clear.
        scrubbing = BackgroundScrub(scrub, integrity, settings.scrub_rate)
        scrubbing.start()
        container.metrics.watch_integrity(integrity, scrubbing)
        ready(server)
        rescanning = asyncio.create_task(_rescan(container)) if settings.postgres else None
        await stop.wait()
        log.info("shutting down")
        if rescanning is not None:
            rescanning.cancel()
        await server.stop(grace)
    finally:
        if scrubbing is not None:
            await asyncio.to_thread(scrubbing.stop)
        await asyncio.to_thread(container.close)


async def _rescan(container: Container) -> None:
    """With several ledgerd on one database: take over promotions a dead process left.

    A database unreachable (or its disk full) is logged in one line when it begins, not
    with a traceback at every scan; anything else with its traceback each time."""
    cause: str | None = None
    while True:
        await asyncio.sleep(RESCAN_SECONDS)
        try:
            await asyncio.to_thread(container.rescan)
        except Exception as error:  # a database hiccup must not end the loop
            known = failure_summary(error)
            if known is None:
                log.exception("scanning promotions in flight failed")
            elif known != cause:
                log.error("scanning promotions in flight paused: %s", known)
            cause = known
            continue
        if cause is not None:
            log.warning("scanning promotions in flight resumed")
            cause = None
