"""What both entry points (gRPC, console) call: use cases and queries off the event loop.

Ledger commands and read-model queries are blocking (SQLite, psycopg); they run in
a dedicated thread pool so the event loop only ever moves messages. After a command
the backend waits until the projections include its write (read-your-writes), so a
``GetApp`` right after ``CreateApp`` sees the app. It also finds the key behind a token
(cached, see :mod:`server.infra.authn`), the same way for both entry points.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from ledger.commands import Outcome
from ledger.domain import Meta
from ledger.errors import Unauthenticated, Unavailable
from ledger.ids import check_request_id
from ledger.policy import Principal
from ledger.queries import Queries
from ledger.read_model import ReadModel
from ledger.service import LedgerService
from server.bootstrap import Container
from server.infra.authn import BAD_TOKEN, Authenticator
from server.infra.broadcast import Broadcaster

P = ParamSpec("P")
T = TypeVar("T")
C = TypeVar("C")

CATCH_UP_TIMEOUT = 10.0


class Backend:
    """The servicers' single dependency (built once per server from the container)."""

    def __init__(self, container: Container, max_threads: int = 32) -> None:
        self.container = container
        self.service: LedgerService = container.service
        self.queries: Queries = container.queries
        self.reader: ReadModel = container.views  # for the API's lookups of what ids name
        self.broadcaster: Broadcaster = container.broadcaster
        self.authenticator = Authenticator(container.views)
        self._executor = ThreadPoolExecutor(max_threads, thread_name_prefix="ledgerd-io")
        self.public_url = container.settings.public_url  # the console's, once it is bound

    def hook_url(self, workflow: str) -> str:
        """Where git hosts send a workflow's deliveries ('' when no console serves them)."""
        return f"{self.public_url.rstrip('/')}/hooks/{workflow}" if self.public_url else ""

    async def principal(self, digest: str) -> Principal:
        """The valid key whose token has SHA-256 ``digest`` (Unauthenticated if none)."""
        principal = self.authenticator.cached(digest)
        if principal is None:
            principal = await self.run(self.authenticator.lookup, digest)
        if principal is None:
            raise Unauthenticated(BAD_TOKEN)
        return principal

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking call in the backend's thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(function, *args, **kwargs)
        )

    async def execute(
        self, handler: Callable[[C, Meta], Outcome], command: C, meta: Meta
    ) -> Outcome:
        """Run a use case, then wait until the projections include what it wrote."""
        outcome = await self.run(handler, command, meta)
        await self.caught_up(outcome.position)
        return outcome

    async def caught_up(self, position: int) -> None:
        worker = self.container.worker
        worker.notify()
        if not await self.run(worker.wait_for, position, CATCH_UP_TIMEOUT):
            raise Unavailable(
                f"the change was recorded at position {position} but the read model "
                "is behind: retry with the same request_id to read it"
            )

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def meta_of(principal: Principal, request_id: str = "") -> Meta:
    """Who is asking (the key the request was authenticated with: never a client-supplied
    name) and under which request id."""
    check_request_id(request_id)
    return Meta(actor=principal.actor, request_id=request_id)
