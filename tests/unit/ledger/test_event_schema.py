"""The stored form of every event is pinned at its class version: a change to an event's
fields needs a new class version with its upcaster, and a change older versions cannot read
needs a new log schema (``ledger/schema.py``)."""

from __future__ import annotations

from ledger.domain import Rack
from ledger.domain.registry import event_classes
from ledger.schema import RACK_VERSION_FIELDS
from tests.unit.ledger.event_pins import REPIN, broken_rules, current, pinned


def test_events_change_only_with_a_new_class_version_and_log_schema() -> None:
    problems = broken_rules(pinned(), current())

    assert not problems, "\n".join(problems)


def test_the_pin_is_the_events_of_this_code() -> None:
    assert current() == pinned(), (
        f"the events changed: follow the rules, then re-pin them with {REPIN} "
        "(it refuses a change that breaks them)"
    )


def test_every_class_version_after_the_first_has_its_upcaster() -> None:
    absent = [
        f"{kind.TOPIC}.upcast_v{version}_v{version + 1}"
        for kind in event_classes()
        for version in range(1, getattr(kind, "class_version", 1))
        if not callable(getattr(kind, f"upcast_v{version}_v{version + 1}", None))
    ]

    assert not absent, f"missing upcasters: {', '.join(absent)}"


def test_a_field_changed_at_the_same_class_version_is_refused_with_what_to_do() -> None:
    now = current()
    pin = {**now, "events": {**now["events"]}}
    event = dict(pin["events"]["ledger:AppDeadlineChanged"])
    pin["events"]["ledger:AppDeadlineChanged"] = {**event, "fields": {**event["fields"]}}
    pin["events"]["ledger:AppDeadlineChanged"]["fields"].pop("deadline_seconds")

    (problem,) = broken_rules(pin, now)

    assert problem.startswith("ledger:AppDeadlineChanged changed its fields at class_version 1")
    assert "upcast_v1_v2" in problem and "LOG_SCHEMA" in problem


def test_a_new_event_type_without_a_new_log_schema_is_refused() -> None:
    now = current()
    pin = {**now, "events": {k: v for k, v in now["events"].items() if k != "ledger:AppArchived"}}

    (problem,) = broken_rules(pin, now)

    assert problem.startswith("ledger:AppArchived cannot be read by older ledgerd")
    assert f"LOG_SCHEMA in ledger/schema.py to {now['log_schema'] + 1}" in problem


def test_a_removed_event_type_is_refused() -> None:
    now = current()
    gone = {**now, "events": {k: v for k, v in now["events"].items() if k != "ledger:AppArchived"}}

    (problem,) = broken_rules(now, gone)

    assert problem == "ledger:AppArchived is gone: logs hold it forever, keep the event class"


def test_the_rack_s_version_records_keep_the_fields_older_versions_read() -> None:
    fields = current()["events"][Rack.VersionStarted.TOPIC]["fields"]

    assert {name: fields.get(name) for name in RACK_VERSION_FIELDS} == {
        "version": "str",
        "log_schema": "int",
    }, "older ledgerd read these to refuse a log they cannot read: never change them"
