"""The poller logs a known cause of failure in one line, not a traceback at every tick."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from ledger.workflows import polling
from ledger.workflows.polling import Poller

UNREACHABLE = "the ledger's database is unreachable"


class Unreachable(Exception):
    """What the database layer raises while the database is down (in these tests)."""


class FailingReader:
    """A read side that fails ``failures`` times with ``error``, then lists nothing."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures = error, failures
        self.calls = 0
        self.done = threading.Event()

    def list_workflows(self, after: str, limit: int) -> list[Any]:
        self.calls += 1
        if self.calls > self.failures + 1:
            self.done.set()
        if self.calls <= self.failures:
            raise self.error
        return []


def explain(error: BaseException) -> str | None:
    return UNREACHABLE if isinstance(error, Unreachable) else None


def poll_until_done(reader: FailingReader, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(polling, "TICK_SECONDS", 0.001)
    poller = Poller(service=None, reader=reader, explain=explain)  # type: ignore[arg-type]
    poller.start()
    try:
        assert reader.done.wait(10)
    finally:
        poller.close()


def test_an_unreachable_database_is_logged_once_in_one_line_and_its_end_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=polling.__name__)

    poll_until_done(FailingReader(Unreachable("connection refused to host=db"), 20), monkeypatch)

    lines = [(r.levelno, r.getMessage(), r.exc_info) for r in caplog.records]
    assert lines == [
        (logging.ERROR, f"polling repositories paused: {UNREACHABLE}", None),
        (logging.WARNING, "polling repositories resumed", None),
    ]


def test_an_unexpected_failure_is_logged_with_its_traceback_each_time(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=polling.__name__)

    poll_until_done(FailingReader(ValueError("a bug"), 3), monkeypatch)

    failures = [r for r in caplog.records if r.getMessage() == "polling repositories failed"]
    assert len(failures) == 3
    assert all(r.exc_info is not None for r in failures)
