"""Polling: for repositories that cannot send webhooks, ``ledgerd`` asks them.

Every workflow with ``poll_seconds`` set is polled that often
(:meth:`WorkflowService.poll`: its branch's head, read with ``git ls-remote``, is accepted
as a delivery whose id is ``poll:<sha>``, so a commit starts one job however many times
it is seen, also across restarts and with several ``ledgerd`` polling one ledger). This
module only keeps the schedule.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ledger.read_model import ReadModel
from ledger.workflows.service import WorkflowService

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
PAGE = 200
Explain = Callable[[BaseException], str | None]
"""A failure's one-line cause an operator can act on (the database unreachable), without
the error's text; None for others (logged with their traceback)."""


class Poller:
    """One background thread polling every workflow that asks for it.

    A known cause of failure (``explain``: the database is unreachable) is logged in one
    line when it begins and once when polling works again, not with a traceback at every
    tick; anything else with its traceback each time.
    """

    def __init__(
        self, service: WorkflowService, reader: ReadModel, explain: Explain | None = None
    ) -> None:
        self.service = service
        self.reader = reader
        self.explain = explain
        self._cause: str | None = None  # the known cause of the failure going on
        self._due: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="workflow-poller", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                self.poll_due(time.monotonic())
            except Exception as error:  # a database hiccup must not end polling
                self._failed(error)
                continue
            if self._cause is not None:
                log.warning("polling repositories resumed")
                self._cause = None

    def _failed(self, error: Exception) -> None:
        cause = self.explain(error) if self.explain is not None else None
        if cause is None:
            log.exception("polling repositories failed")
        elif cause != self._cause:
            log.error("polling repositories paused: %s", cause)
        self._cause = cause

    def poll_due(self, now: float) -> None:
        """Poll each workflow whose time has come."""
        after = ""
        while page := self.reader.list_workflows(after, PAGE):
            for view in page:
                if view.poll_seconds and self._due.get(view.name, 0.0) <= now:
                    self._due[view.name] = now + view.poll_seconds
                    self.service.poll(view.name)
            after = page[-1].name
