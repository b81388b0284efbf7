"""The worker projects what this process saved as it was saved, and reads the log for the rest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger.commands import UpdateEnv
from projections import LedgerViews, ProjectionWorker, rebuild
from tests.integration.projections.conftest import ALICE, Ledger
from tests.integration.projections.test_exactly_once import some_history


class LogReads:
    """Counts the events a worker reads back from the log (the recorder stays real)."""

    def __init__(self, ledger: Ledger) -> None:
        self.events = 0
        recorder = ledger.app.recorder
        select: Callable[..., Any] = recorder.select_notifications

        def counted(*args: Any, **kwargs: Any) -> Any:
            found = select(*args, **kwargs)
            self.events += len(found)
            return found

        recorder.select_notifications = counted  # type: ignore[method-assign]


@pytest.fixture
def fed_worker(ledger: Ledger, views: LedgerViews) -> ProjectionWorker:
    worker = ProjectionWorker(ledger.app, views, batch_size=7)
    ledger.app.recorded.append(worker.feed)
    return worker


def test_events_saved_in_this_process_are_projected_without_reading_them_back(
    ledger: Ledger, views: LedgerViews, fed_worker: ProjectionWorker
) -> None:
    some_history(ledger, apps=2, deploys=2)
    reads = LogReads(ledger)

    applied = fed_worker.catch_up()

    assert applied == ledger.app.head()
    assert reads.events == 0
    assert views.position() == ledger.app.head()


def test_a_projection_fed_by_the_ledger_equals_a_rebuild_from_the_log(
    ledger: Ledger, views: LedgerViews, fed_worker: ProjectionWorker
) -> None:
    fed_worker.start()
    try:
        some_history(ledger, apps=3, deploys=2)
        ledger.service.update_env(UpdateEnv(app="app1", set_values={"B": "2"}), ALICE)
        assert views.wait_for(ledger.app.head(), timeout=10)
    finally:
        fed_worker.stop()
    live = views.dump()

    rebuild(ledger.app, views)

    assert views.dump() == live


def test_events_missing_from_the_feed_are_read_from_the_log(
    ledger: Ledger, views: LedgerViews, fed_worker: ProjectionWorker
) -> None:
    some_history(ledger, apps=1, deploys=1)
    fed = ledger.app.head()
    ledger.app.recorded.remove(fed_worker.feed)  # as if written by another process
    some_history(ledger, apps=1, deploys=1, first=1)
    unfed = ledger.app.head()
    ledger.app.recorded.append(fed_worker.feed)
    some_history(ledger, apps=1, deploys=1, first=2)
    reads = LogReads(ledger)

    fed_worker.catch_up()

    assert views.position() == ledger.app.head()
    assert [app.name for app in views.list_apps()] == ["app0", "app1", "app2"]
    assert unfed - fed <= reads.events < ledger.app.head()  # the gap came from the log
    live = views.dump()
    rebuild(ledger.app, views)
    assert views.dump() == live


def test_fed_events_the_worker_projected_already_are_not_applied_again(
    ledger: Ledger, views: LedgerViews, fed_worker: ProjectionWorker
) -> None:
    some_history(ledger, apps=1, deploys=1)
    ProjectionWorker(ledger.app, views).catch_up()  # another worker got there first
    before = views.dump()

    applied = fed_worker.catch_up()

    assert applied == 0
    assert views.dump() == before
