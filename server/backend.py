"""What both entry points (gRPC, console) call: use cases and queries off the event loop.

Ledger commands and read-model queries are blocking (SQLite, psycopg); they run in
a dedicated thread pool so the event loop only ever moves messages. After a command
the backend waits until the projections include its write (read-your-writes), so a
``GetApp`` right after ``CreateApp`` sees the app. It also finds the key behind a token
(cached, see :mod:`server.infra.authn`), the same way for both entry points.

The hot reads (an app with what is in flight, its newest releases) are answered from
memory on the event loop when :class:`~projections.hot.HotViews` holds them current
(:meth:`Backend.hot_app`); only a miss goes to the thread pool, once per app however
many callers miss it together.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from ledger import budget
from ledger.commands import Outcome
from ledger.domain import Meta
from ledger.errors import DiskFull, NotFound, Unauthenticated, Unavailable
from ledger.ids import check_request_id
from ledger.policy import Principal
from ledger.queries import Queries
from ledger.read_model import ReadModel
from ledger.service import LedgerService
from projections.hot import HotApp, HotViews
from server.bootstrap import Container
from server.infra.authn import BAD_TOKEN, Authenticator
from server.infra.broadcast import Broadcaster
from server.infra.flights import SharedReads
from server.infra.persistence import disk_full, unreachable
from server.infra.positions import ProjectedPositions

P = ParamSpec("P")
T = TypeVar("T")
C = TypeVar("C")

CATCH_UP_TIMEOUT = 10.0
ANSWER_MARGIN = 0.1  # of a command's bound, left for its answer to travel back
FAILURE_CHECK_SECONDS = 0.25  # how often a read-your-writes wait looks at the worker's error


class Backend:
    """The servicers' single dependency (built once per server from the container)."""

    def __init__(self, container: Container, max_threads: int = 32) -> None:
        self.container = container
        self.service: LedgerService = container.service
        self.queries: Queries = container.queries
        self.reader: ReadModel = container.views  # for the API's lookups of what ids name
        self.broadcaster: Broadcaster = container.broadcaster
        self.authenticator = Authenticator(container.views)
        self.hot: HotViews = container.hot
        self._executor = ThreadPoolExecutor(max_threads, thread_name_prefix="ledgerd-io")
        worker = container.worker
        self.positions = ProjectedPositions(lambda: worker.position)
        worker.position_listeners.append(self.positions.projected)
        self._loads: SharedReads[tuple[str, bool], HotApp] = SharedReads()
        self._lookups: SharedReads[str, Principal | None] = SharedReads()
        self.public_url = container.settings.public_url  # the console's, once it is bound
        # A command is answered within LEDGER_DATABASE_TIMEOUT of its arrival, whatever it
        # waited for: the thread pool, its turn, the database, the read model.
        self.answer_within = max(container.settings.database_timeout - ANSWER_MARGIN, 0.1)

    def hook_url(self, workflow: str) -> str:
        """Where git hosts send a workflow's deliveries ('' when no console serves them)."""
        return f"{self.public_url.rstrip('/')}/hooks/{workflow}" if self.public_url else ""

    async def principal(self, digest: str) -> Principal:
        """The valid key whose token has SHA-256 ``digest`` (Unauthenticated if none)."""
        authenticator = self.authenticator
        principal = authenticator.cached(digest)
        if principal is None:
            # The callers in flight when the cached key expires share one lookup, unless
            # a key was revoked meanwhile.
            principal = await self._lookups.read(
                digest,
                lambda generation: generation == authenticator.generation,
                lambda: (authenticator.generation, self._start(authenticator.lookup, digest)),
            )
        if principal is None:
            raise Unauthenticated(BAD_TOKEN)
        return principal

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking call in the backend's thread pool."""
        return await self._start(function, *args, **kwargs)

    def _start(
        self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    async def hot_app(self, name: str, *, releases: bool = False) -> HotApp:
        """The app's hot entry (with its newest releases if ``releases``): from memory when
        current (no thread hop, no SQL), else read from the views in the thread pool and
        kept. Raises as the read side does (INVALID_ARGUMENT for a malformed name,
        NOT_FOUND for an unknown app)."""
        hot = self.hot
        entry = hot.get(name)
        if entry is not None and (entry.releases is not None or not releases):
            return entry

        def load() -> tuple[int, asyncio.Future[HotApp]]:
            stamp = hot.stamp()
            return stamp, self._start(functools.partial(hot.load, releases=releases), name, stamp)

        # Shared only while no batch touched the app since that load began: a caller
        # must never get an answer older than a write it saw acknowledged.
        return await self._loads.read((name, releases), lambda s: hot.fresh(name, s), load)

    async def execute(
        self, handler: Callable[[C, Meta], Outcome], command: C, meta: Meta
    ) -> Outcome:
        """Run a use case, then wait until the projections include what it wrote; both
        within :attr:`answer_within` of now (UNAVAILABLE past it: a change recorded by
        then is read by a retry with the same request id)."""
        deadline = time.monotonic() + self.answer_within
        outcome = await self.run(_within, deadline, handler, command, meta)
        await self.caught_up(outcome.position, deadline)
        return outcome

    async def written(self, position: int, read: Callable[[], Awaitable[T]]) -> T:
        """``read()`` of what the command recorded at ``position`` (its answer).

        The views had that position when :meth:`execute` returned, so NOT_FOUND would be
        false: they lost it since (their database crashed and forgot its last commits,
        see :mod:`projections.worker`), and the worker projects it again. That is waited
        for once, as any read-your-writes wait; if the views still lack it, the caller is
        told to retry with the same request id (UNAVAILABLE), never that it is not found.
        """
        try:
            return await read()
        except NotFound:
            await self.caught_up(position)
        try:
            return await read()
        except NotFound:
            raise Unavailable(
                f"the change was recorded at position {position} but the read model does not"
                " show it yet: retry with the same request_id to read it"
            ) from None

    async def caught_up(self, position: int, deadline: float | None = None) -> None:
        """Wait until the views include ``position``, until ``deadline`` (monotonic clock)
        or for :data:`CATCH_UP_TIMEOUT`; UNAVAILABLE if they do not by then."""
        timeout = CATCH_UP_TIMEOUT if deadline is None else max(deadline - time.monotonic(), 0)
        worker = self.container.worker
        if worker.running:
            worker.notify()
            reached = await self._projected(position, timeout)
        else:  # another process projects: poll the tracking row
            reached = await self.run(worker.wait_for, position, timeout)
        if not reached:
            raise Unavailable(
                f"the change was recorded at position {position} but the read model (the"
                " views' database) did not show it in time: retry with the same request_id"
                " to read it"
            )

    async def _projected(self, position: int, timeout: float) -> bool:
        """Wait for the worker; give up early, naming it, when the disk of the views is full
        or their database is unreachable (the worker retries at once when notified, so a
        freed disk or a database back is seen within a step)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        worker, started = self.container.worker, time.monotonic()
        if worker.position >= position:
            return True
        while (remaining := deadline - loop.time()) > 0:
            if await self.positions.wait_for(position, min(remaining, FAILURE_CHECK_SECONDS)):
                return True
            self._refuse_if_failing(position, started)
        self._refuse_if_failing(position, started)  # the time ran out: say why, if known
        return False

    def _refuse_if_failing(self, position: int, since: float) -> None:
        """Raise what keeps the worker from projecting ``position``, if it failed since
        ``since``: only a failure since the wait began counts (one from before, the disk was
        full or the database down a moment ago, may be over already)."""
        worker = self.container.worker
        error = worker.error if worker.failed_at >= since else None
        if error is not None and disk_full(error):
            raise DiskFull(
                f"the ledger's disk is full: the change was recorded at position {position}"
                " but the read model cannot be written; reads still work (without it), and"
                " once space is freed, retry with the same request_id to read it"
            )
        if error is not None and unreachable(error):
            raise Unavailable(
                f"the change was recorded at position {position} but the ledger's database"
                " became unreachable before the read model had it: retry with the same"
                " request_id to read it"
            )

    def close(self) -> None:
        worker = self.container.worker
        if self.positions.projected in worker.position_listeners:
            worker.position_listeners.remove(self.positions.projected)
        self._executor.shutdown(wait=True, cancel_futures=True)


def _within(
    deadline: float, handler: Callable[[C, Meta], Outcome], command: C, meta: Meta
) -> Outcome:
    """``handler(command, meta)`` with the request's deadline as its budget (the ledger's
    own budget per command applies too: the earlier wins)."""
    with budget.until(deadline):
        return handler(command, meta)


def meta_of(principal: Principal, request_id: str = "") -> Meta:
    """Who is asking (the key the request was authenticated with: never a client-supplied
    name) and under which request id."""
    check_request_id(request_id)
    return Meta(actor=principal.actor, request_id=request_id)
