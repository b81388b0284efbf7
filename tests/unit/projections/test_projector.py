"""The projector, the SQL dialects and the env helpers, on an in-memory ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.utils import resolve_topic

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, CreateBuild, UpdateEnv
from ledger.domain import LedgerEvent, Meta, event_type
from ledger.promoter import Promoter
from ledger.service import LedgerService
from projections import ProjectionWorker, open_views, postgres_env, sql, sqlite_env, views_env
from projections.audit import Projectable, audit_entry, to_json
from projections.projector import _HANDLERS, AUDIT_ONLY, project
from projections.workflows import first_line
from runtime.record import RecordRuntime
from tests.support.builds import image_build
from tests.support.workflows import record_every_workflow_event

ALICE = Meta(actor="alice", request_id="")


@pytest.fixture
def ledger() -> Iterator[LedgerApplication]:
    app = LedgerApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


@pytest.fixture
def service(ledger: LedgerApplication) -> Iterator[LedgerService]:
    runtime = RecordRuntime()
    promoter = Promoter(ledger, runtime, max_workers=1)
    yield LedgerService(ledger, runtime, promoter)
    promoter.close()


def decoded(ledger: LedgerApplication) -> list[Projectable]:
    notifications = ledger.recorder.select_notifications(1, 1000)
    return [
        Projectable(n.id, event_type(n.topic), ledger.mapper.to_domain_event(n))
        for n in notifications
    ]


def all_event_classes(base: type[Any] = LedgerEvent) -> set[type[Any]]:
    found: set[type[Any]] = set()
    for sub in base.__subclasses__():
        found |= {sub} | all_event_classes(sub)
    return found


def test_every_domain_event_class_has_a_handler_or_is_declared_audit_only() -> None:
    topics = {c.TOPIC for c in all_event_classes()} - {LedgerEvent.TOPIC}
    classes = {resolve_topic(topic) for topic in topics}  # what the mapper decodes to
    assert classes, "no domain events found"
    assert classes - set(_HANDLERS) == set(AUDIT_ONLY)


def test_env_values_are_masked_and_bookkeeping_fields_hidden_in_the_audit_entry(
    ledger: LedgerApplication, service: LedgerService
) -> None:
    service.create_app(CreateApp(name="web"), Meta("alice", "req-1"))
    service.update_env(UpdateEnv(app="web", set_values={"TOKEN": "hunter2"}), ALICE)
    image_build(service, CreateBuild(app="web", image="nginx:1"), ALICE)
    entries = {item.type: audit_entry(item) for item in decoded(ledger)}

    assert entries["RequestRecorded"] is None
    env_changed = entries["EnvChanged"]
    assert env_changed is not None and env_changed.data["values"] == {"TOKEN": "***"}
    release = entries["ReleaseCreated"]
    assert release is not None and release.data["env"] == {"TOKEN": "***"}
    assert "hunter2" not in repr(entries)
    created = entries["AppCreated"]
    assert created is not None
    assert (created.app, created.actor, created.request_id, created.data) == (
        "web",
        "alice",
        "req-1",
        {},
    )


def test_no_row_change_or_audit_row_carries_an_env_value(
    ledger: LedgerApplication, service: LedgerService
) -> None:
    service.create_app(CreateApp(name="web"), ALICE)
    service.update_env(UpdateEnv(app="web", set_values={"TOKEN": "hunter2"}), ALICE)
    image_build(service, CreateBuild(app="web", image="nginx:1"), ALICE)
    projected = [project(item) for item in decoded(ledger)]
    assert projected and "hunter2" not in repr(projected)


def test_statements_are_translated_per_dialect() -> None:
    pg = sql.postgres_dialect("read")
    assert pg.sql(sql.SELECT_APP) == 'SELECT * FROM "read".ledger_view4_apps WHERE name = %s'
    assert sql.SQLITE.sql(sql.SELECT_APP) == "SELECT * FROM ledger_view4_apps WHERE name = ?"
    assert all("{" not in statement for statement in pg.schema())


def test_timestamps_are_exact_ordered_microseconds_and_naive_times_are_utc() -> None:
    base = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    times = [base, base + timedelta(microseconds=1), base + timedelta(seconds=1)]
    stored = [sql.timestamp(t) for t in times]
    assert stored == sorted(stored) and stored[1] - stored[0] == 1
    assert stored[0] == int(base.timestamp()) * 1_000_000
    assert sql.timestamp(base.replace(tzinfo=None)) == stored[0]
    assert sql.timestamp(base.astimezone(timezone(timedelta(hours=2)))) == stored[0]
    assert [sql.parse_timestamp(s) for s in stored] == times


def test_the_fast_json_encoder_writes_what_the_standard_one_does() -> None:
    value = {"b": [1, "ü", None, 2.5], "a": {"z": True, "y": '"q"'}, "c": ""}
    assert to_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert to_json("x") == '"x"'


def test_env_helpers_build_eventsourcing_settings(tmp_path: Path) -> None:
    pg = postgres_env("postgresql://bob:p%40ss@db.example:6543/ledger")
    assert pg == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "ledger",
        "POSTGRES_HOST": "db.example",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "bob",
        "POSTGRES_PASSWORD": "p@ss",
    }
    assert views_env(pg | {"IS_SNAPSHOTTING_ENABLED": "y"}) == pg
    events = sqlite_env(tmp_path / "events.sqlite")
    assert views_env(events)["SQLITE_DBNAME"] == str(tmp_path / "events-views.sqlite")
    assert views_env(events, tmp_path / "v.db")["SQLITE_DBNAME"] == str(tmp_path / "v.db")
    assert views_env({})["PERSISTENCE_MODULE"] == "eventsourcing.popo"
    memory = sqlite_env("file:x?mode=memory&cache=shared")
    assert views_env(memory)["PERSISTENCE_MODULE"] == "eventsourcing.popo"
    assert views_env(events | {"CREATE_TABLE": "n"})["CREATE_TABLE"] == "n"
    with pytest.raises(ValueError):
        postgres_env("mysql://x/y")


def test_an_in_memory_ledger_gets_private_in_memory_views(
    ledger: LedgerApplication, service: LedgerService
) -> None:
    service.create_app(CreateApp(name="web"), ALICE)
    first, second = open_views(views_env({})), open_views(views_env({}))
    try:
        assert ProjectionWorker(ledger, first).catch_up() == 1
        assert [a.name for a in first.list_apps()] == ["web"]
        assert second.list_apps() == []
    finally:
        first.close()
        second.close()


def test_one_event_per_batch_and_one_batch_for_all_give_the_same_rows(
    ledger: LedgerApplication, service: LedgerService
) -> None:
    service.create_app(CreateApp(name="web"), ALICE)
    service.update_env(UpdateEnv(app="web", set_values={"A": "1"}), ALICE)
    first = image_build(service, CreateBuild(app="web", image="nginx:1"), ALICE)
    image_build(service, CreateBuild(app="web", image="nginx:2"), ALICE)
    change = UpdateEnv(app="web", set_values={"A": "2"}, base_release_id=first.release_id)
    service.update_env(change, ALICE)
    one_by_one, all_at_once = open_views(views_env({})), open_views(views_env({}))
    try:
        assert ProjectionWorker(ledger, one_by_one, batch_size=1).catch_up() > 10
        ProjectionWorker(ledger, all_at_once, batch_size=10_000).catch_up()
        assert one_by_one.dump() == all_at_once.dump()
        assert [b.status for b in all_at_once.list_builds("web")] == ["succeeded"] * 2
    finally:
        one_by_one.close()
        all_at_once.close()


def test_no_row_change_or_audit_row_of_a_workflow_event_carries_a_secret(
    ledger: LedgerApplication, service: LedgerService
) -> None:
    service.create_app(CreateApp(name="shop"), ALICE)
    record_every_workflow_event(ledger, "shop", "hunter2-of-the-workflow")
    projected = [project(item) for item in decoded(ledger)]
    types = {item.type for item in decoded(ledger)}
    assert {"WorkflowCreated", "JobStepEnded", "DeliveryAccepted", "AppArchived"} <= types
    assert "hunter2" not in repr(projected)


def test_workflow_events_one_per_batch_and_all_in_one_give_the_same_rows(
    ledger: LedgerApplication, service: LedgerService
) -> None:
    service.create_app(CreateApp(name="shop"), ALICE)
    record_every_workflow_event(ledger, "shop", "hunter2-of-the-workflow")
    one_by_one, all_at_once = open_views(views_env({})), open_views(views_env({}))
    try:
        ProjectionWorker(ledger, one_by_one, batch_size=1).catch_up()
        ProjectionWorker(ledger, all_at_once, batch_size=10_000).catch_up()
        assert one_by_one.dump() == all_at_once.dump()
        (job,) = all_at_once.list_jobs()
        steps = all_at_once.get_job(job.id)
        assert steps is not None and [s.status for s in steps.steps] == ["succeeded", "failed"]
        assert steps.steps[1].promotion_id == "P0000000001"
    finally:
        one_by_one.close()
        all_at_once.close()


def test_a_jobs_message_is_the_first_line_of_its_commits_cut_to_200_characters() -> None:
    assert first_line("\n  Fix it\n\nbecause") == "Fix it"
    assert first_line("y" * 250) == "y" * 200
    assert first_line("") == ""
