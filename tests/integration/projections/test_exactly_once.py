"""Tracking makes the projection exactly once: re-delivery, rebuilds, late and rival workers."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from ledger.commands import CreateApp, CreateBuild, UpdateEnv
from ledger.domain import Meta, StepStatus, event_type
from ledger.views import EventView
from projections import LedgerViews, ProjectionWorker, rebuild, views_env
from projections.audit import Projectable
from tests.integration.projections.conftest import ALICE, Ledger
from tests.support.builds import image_build
from tests.support.workflows import (
    accept_delivery,
    create_workflow,
    queue_job,
    record_every_workflow_event,
    settings,
)


def some_history(ledger: Ledger, apps: int = 2, deploys: int = 2, first: int = 0) -> None:
    for n in range(first, first + apps):
        name = f"app{n}"
        ledger.create_app(name)
        ledger.service.update_env(UpdateEnv(app=name, set_values={"K": f"v{n}"}), ALICE)
        for d in range(deploys):
            ledger.deploy(name, f"img:{n}.{d}")


def head(ledger: Ledger) -> int:
    return ledger.app.head()


def items(ledger: Ledger, start: int = 1) -> list[Projectable]:
    notifications = ledger.app.recorder.select_notifications(start, 10_000)
    decode = ledger.app.mapper.to_domain_event
    return [Projectable(n.id, event_type(n.topic), decode(n), n) for n in notifications]


def execute_raw(ledger: Ledger, statement: str) -> None:
    """Run SQL on the views' database over a connection of its own."""
    env = views_env(ledger.env)
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        with sqlite3.connect(env["SQLITE_DBNAME"]) as conn:
            conn.execute(statement)
        return
    conninfo = (
        f"host={env['POSTGRES_HOST']} port={env['POSTGRES_PORT']} "
        f"dbname={env['POSTGRES_DBNAME']} user={env['POSTGRES_USER']}"
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement.encode())


def test_re_delivering_an_already_processed_batch_is_rejected_and_changes_nothing(
    ledger: Ledger, views: LedgerViews
) -> None:
    some_history(ledger, apps=1, deploys=1)
    ProjectionWorker(ledger.app, views).catch_up()
    before = views.dump()
    batch = items(ledger)

    with pytest.raises(IntegrityError):
        views.apply_batch(batch, Tracking(ledger.app.name, batch[-1].position))
    with pytest.raises(IntegrityError):
        views.apply_batch(batch[3:5], Tracking(ledger.app.name, batch[4].position))
    assert views.dump() == before

    ledger.create_app("late")
    overlapping = items(ledger, start=batch[-2].position)  # old events + the new one
    with pytest.raises(IntegrityError):
        views.apply_batch(overlapping, Tracking(ledger.app.name, overlapping[-1].position))
    assert views.dump() == before
    assert views.position() == batch[-1].position

    assert ProjectionWorker(ledger.app, views).catch_up() == 1
    assert [a.name for a in views.list_apps()] == ["app0", "late"]


def test_a_rebuild_from_zero_produces_exactly_the_rows_of_the_live_projection(
    ledger: Ledger, views: LedgerViews
) -> None:
    worker = ProjectionWorker(ledger.app, views, batch_size=7, poll_interval=0.01)
    worker.start()
    try:
        for n in range(3):
            ledger.create_app(f"app{n}")
            worker.notify()
            ledger.deploy(f"app{n}", "img:1")
            ledger.service.update_env(UpdateEnv(app=f"app{n}", set_values={"A": "1"}), ALICE)
            ledger.deploy(f"app{n}", "img:2")
            worker.notify()
        record_every_workflow_event(ledger.app, "app0", "s3cr3t-of-the-workflow")
        worker.notify()
        create_workflow(ledger.app, ALICE, "live", settings(("app1", "app2")))
        job = queue_job(ledger.app, ALICE, "live")
        accept_delivery(ledger.app, ALICE, "live", "d-live", job.job_id)
        job.start(ALICE)
        step = job.start_step(ALICE, "build", "app1", "building")
        job.end_step(ALICE, step, StepStatus.SUCCEEDED, release_id="R0000000001")
        job.start_step(ALICE, "promote", "app1")
        ledger.app.save(job)
        worker.notify()
        assert views.wait_for(head(ledger), timeout=10)
    finally:
        worker.stop()
    live = views.dump()
    assert live["events"] and live["activations"] and live["promotion_steps"]
    assert live["workflows"] and live["jobs"] and live["job_steps"] and live["deliveries"]
    assert live["app_workflows"]

    applied = rebuild(ledger.app, views)

    assert applied == len(ledger.app.recorder.select_notifications(1, 10_000))
    assert views.dump() == live
    assert views.position() == head(ledger)


def test_a_worker_started_late_catches_up(ledger: Ledger, views: LedgerViews) -> None:
    some_history(ledger, apps=1, deploys=1)
    ProjectionWorker(ledger.app, views).catch_up()
    seen = len(views.list_events())
    some_history(ledger, apps=1, deploys=1, first=1)

    worker = ProjectionWorker(ledger.app, views, batch_size=4)
    worker.start()
    try:
        assert views.wait_for(head(ledger), timeout=10)
        assert worker.position == head(ledger) and worker.error is None
    finally:
        worker.stop()
    assert [a.name for a in views.list_apps()] == ["app0", "app1"]
    assert len(views.list_events()) > seen
    reference = views.dump()
    rebuild(ledger.app, views)
    assert views.dump() == reference


def test_two_workers_on_one_views_database_do_not_double_apply(ledger: Ledger) -> None:
    first, second = ledger.open_views(), ledger.open_views()
    received: dict[str, list[EventView]] = {"first": [], "second": []}
    workers = [
        ProjectionWorker(ledger.app, views, [received[key].extend], batch_size=3, poll_interval=0)
        for key, views in (("first", first), ("second", second))
    ]
    for worker in workers:
        worker.start()
    try:
        for n in range(4):
            ledger.create_app(f"app{n}")
            ledger.deploy(f"app{n}", "img:1")
            for worker in workers:
                worker.notify()
        for worker in workers:
            assert worker.wait_for(head(ledger), timeout=20)
            assert worker.error is None
    finally:
        for worker in workers:
            worker.stop()

    audit = [e.position for e in first.list_events(limit=10_000)]
    assert [e.position for e in received["first"]] == audit
    assert [e.position for e in received["second"]] == audit
    assert first.dump() == second.dump()
    live = first.dump()
    rebuild(ledger.app, first)
    assert first.dump() == live


def test_listeners_get_each_batch_after_commit_without_request_records(
    ledger: Ledger, views: LedgerViews
) -> None:
    batches: list[list[EventView]] = []
    committed: list[bool] = []

    def listener(batch: list[EventView]) -> None:
        committed.append(views.position() >= batch[-1].position)
        batches.append(batch)

    def broken(batch: list[EventView]) -> None:
        raise RuntimeError("a listener bug must not stop the projection")

    worker = ProjectionWorker(ledger.app, views, [broken, listener], poll_interval=1.0)
    worker.start()
    try:
        outcome = ledger.service.create_app(CreateApp(name="web"), Meta("ci", request_id="r-1"))
        worker.notify()
        assert views.wait_for(outcome.position, timeout=5)
        built = image_build(ledger.service, CreateBuild(app="web", image="i:1"), ALICE)
        assert views.wait_for(built.position, timeout=5)  # wait_for wakes the worker itself
    finally:
        worker.stop()
    flat = [e for batch in batches for e in batch]
    assert [e.type for e in flat][:1] == ["AppCreated"]
    assert "RequestRecorded" not in {e.type for e in flat}
    assert [e.position for e in flat] == [e.position for e in views.list_events()]
    assert all(committed)


def test_wait_for_gives_up_after_the_timeout(views: LedgerViews, ledger: Ledger) -> None:
    worker = ProjectionWorker(ledger.app, views)
    worker.start()
    try:
        started = time.monotonic()
        assert not views.wait_for(1_000, timeout=0.2)
        assert 0.2 <= time.monotonic() - started < 2
    finally:
        worker.stop()
    assert not views.wait_for(1_000, timeout=0.05)  # polling the tracking row


def test_a_failing_batch_is_logged_retried_and_exposed_without_killing_the_worker(
    ledger: Ledger, views: LedgerViews, caplog: pytest.LogCaptureFixture
) -> None:
    ledger.create_app("web")
    ProjectionWorker(ledger.app, views).catch_up()
    execute_raw(ledger, f"DROP TABLE {views.dialect.table('events')}")
    caplog.set_level(logging.ERROR, logger="projections.worker")
    worker = ProjectionWorker(ledger.app, views, poll_interval=0.01)
    worker.start()
    try:
        ledger.create_app("api")
        deadline = time.monotonic() + 5
        while worker.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.error is not None and worker.running
        assert "projection failed" in caplog.text
        assert views.get_app("api") is None  # the failed batch left nothing behind

        ledger.open_views()  # opening views creates missing tables: the next retry succeeds
        assert views.wait_for(head(ledger), timeout=10)
        assert worker.error is None
        assert views.get_app("api") is not None
    finally:
        worker.stop()


def test_a_worker_follows_a_rebuild_of_its_views(ledger: Ledger, views: LedgerViews) -> None:
    ledger.create_app("web")
    worker = ProjectionWorker(ledger.app, views, poll_interval=0.01)
    worker.start()
    try:
        assert views.wait_for(head(ledger), timeout=5)
        live = views.dump()
        views.reset()
        ledger.create_app("api")
        assert views.wait_for(head(ledger), timeout=5)
        deadline = time.monotonic() + 5
        while len(views.list_apps()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert [a.name for a in views.list_apps()] == ["api", "web"]
    assert all(row in views.dump()["events"] for row in live["events"])


def test_catch_up_and_the_worker_thread_can_run_at_once(ledger: Ledger, views: LedgerViews) -> None:
    worker = ProjectionWorker(ledger.app, views, batch_size=2, poll_interval=0)
    worker.start()
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set() and n < 20:
            ledger.create_app(f"app{n}")
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        other = ProjectionWorker(ledger.app, views, batch_size=3)
        while writer.is_alive():
            other.catch_up()
        writer.join()
        assert views.wait_for(head(ledger), timeout=10)
    finally:
        stop.set()
        worker.stop()
    assert len(views.list_apps(limit=100)) == 20
    live = views.dump()
    rebuild(ledger.app, views)
    assert views.dump() == live
