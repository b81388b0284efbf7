"""What every servicer needs: use cases, read model, and a way off the event loop.

Ledger commands and read-model queries are blocking (SQLite, psycopg); they run in
a dedicated thread pool so the event loop only ever moves messages. After a command
the backend waits until the projections include its write (read-your-writes), so a
``GetApp`` right after ``CreateApp`` sees the app.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from ledger.access import Principal
from ledger.commands import Outcome
from ledger.domain import Meta
from ledger.errors import NotFound, Unavailable
from ledger.ids import check_app_name, check_request_id
from ledger.service import LedgerService
from projections.reader import ReadModel
from projections.views import AppView
from server.bootstrap import Container
from server.infra.authn import current
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
        self.reader: ReadModel = container.views
        self.broadcaster: Broadcaster = container.broadcaster
        self._executor = ThreadPoolExecutor(max_threads, thread_name_prefix="ledgerd-io")

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

    async def app_view(self, name: str) -> AppView:
        """The app's view; INVALID_ARGUMENT for a bad name, NOT_FOUND when unknown."""
        check_app_name(name)
        view = await self.run(self.reader.get_app, name)
        if view is None:
            raise NotFound(f"app {name} not found")
        return view

    def visible_apps(self, principal: Principal, after: str, limit: int) -> list[AppView]:
        """The apps ``principal`` may list, by name after ``after``, at most ``limit``
        (blocking): every app for keys of every app, else the existing ones among its own."""
        if principal.all_apps:
            return self.reader.list_apps(after, limit)
        found: list[AppView] = []
        for name in sorted(principal.apps):
            view = self.reader.get_app(name) if name > after else None
            if view is not None:
                found.append(view)
                if len(found) == limit:
                    break
        return found

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def meta_of(context: Any, request_id: str = "") -> Meta:
    """Who is asking (the key the call was authenticated with: never a client-supplied
    name) and under which request id."""
    check_request_id(request_id)
    return Meta(actor=current().actor, request_id=request_id)
