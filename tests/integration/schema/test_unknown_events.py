"""A running ledgerd whose log gains an event type it does not know (a newer ledgerd on the
same PostgreSQL database, say) stops its projections there with one clear line, instead of
a traceback at every retry."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.utils import TopicError

from server.bootstrap import Container, bootstrap
from server.infra.settings import Settings
from tests.integration.schema.newer import record_an_event_of_a_new_type


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Container]:
    container = bootstrap(Settings(data_dir=tmp_path / "data", console_listen=""))
    try:
        container.start()
        yield container
    finally:
        container.close()


def test_an_unknown_event_type_stops_the_projections_with_one_clear_line(
    running: Container, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="projections.worker")
    before = running.views.position()

    record_an_event_of_a_new_type(running.settings.data_dir)
    running.worker.notify()
    deadline = time.monotonic() + 30  # it ends rather than hangs
    while not isinstance(running.worker.error, TopicError) and time.monotonic() < deadline:
        time.sleep(0.02)

    assert isinstance(running.worker.error, TopicError)
    (record,) = caplog.records
    assert record.getMessage().startswith(
        "projections stopped: the log holds an event type this ledgerd does not know"
    )
    assert "ClusterJoined" in record.getMessage() and record.exc_info is None
    assert running.views.position() == before  # nothing projected past it, nothing skipped
