"""Each upcaster turns the state an earlier class version stored into the current event,
alike for the library's mapper (commands) and the rebuild's decoder (projections)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import Notification, StoredEvent

from ledger.application import LedgerApplication
from ledger.domain import Build, Meta, Promotion, Rack
from projections.audit import audit_record, projectable, record_text
from projections.decoding import EventDecoder
from transparency.leaf_v2 import canonical

WHO = {"app": "shop", "actor": "alice (K0000000001)", "request_id": ""}
LEDGERD = Meta(actor="ledgerd")


def stored(ledger: LedgerApplication, topic: str, state: dict[str, Any]) -> StoredEvent:
    """An event as a version 1 class stored it (no ``class_version`` key: version 1)."""
    full = {"timestamp": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), **WHO, **state}
    return StoredEvent(uuid4(), 1, topic, ledger.mapper.transcoder.encode(full))


def as_notification(record: StoredEvent) -> Notification:
    """``record`` as read back from the log at position 1."""
    return Notification(
        id=1,
        originator_id=record.originator_id,
        originator_version=record.originator_version,
        topic=record.topic,
        state=record.state,
    )


def decoded_both_ways(ledger: LedgerApplication, record: StoredEvent) -> Any:
    event = ledger.mapper.to_domain_event(record)
    assert EventDecoder(ledger.mapper)(record).__dict__ == event.__dict__
    return event


def test_a_v1_build_created_decodes_with_no_commit(ledger: LedgerApplication) -> None:
    state = {
        "originator_topic": Build.TOPIC,
        "build_id": "BABCDEFGHJK",
        "description": "",
        "source": "image:shop:1",
        "image": "shop:1",
    }

    event = decoded_both_ways(ledger, stored(ledger, Build.Created.TOPIC, state))

    assert isinstance(event, Build.Created)
    assert (event.commit, event.image) == ({}, "shop:1")


def test_a_v1_promotion_requested_decodes_as_not_queued(ledger: LedgerApplication) -> None:
    state = {
        "originator_topic": Promotion.TOPIC,
        "promotion_id": "PABCDEFGHJK",
        "release_id": "RABCDEFGHJK",
        "previous_release_id": "",
        "deadline_seconds": 600,
        "description": "first",
    }

    event = decoded_both_ways(ledger, stored(ledger, Promotion.Created.TOPIC, state))

    assert isinstance(event, Promotion.Created)
    assert (event.queued, event.deadline_seconds) == (False, 600)


def test_a_v1_rack_version_started_decodes_as_written_before_log_schemas(
    ledger: LedgerApplication,
) -> None:
    record = stored(ledger, Rack.VersionStarted.TOPIC, {"version": "0.1.0"})

    event = decoded_both_ways(ledger, record)

    assert isinstance(event, Rack.VersionStarted)
    assert (event.version, event.log_schema) == ("0.1.0", 0)


def test_a_rack_started_by_versions_before_log_schemas_records_the_schema_at_the_next_start(
    ledger: LedgerApplication,
) -> None:
    rack = Rack(app="", actor="ledgerd", request_id="")
    ledger.save(rack)
    ledger.recorder.insert_events(
        [stored_at(ledger, rack, 2, Rack.VersionStarted.TOPIC, {"version": "0.1.0"})]
    )
    loaded = ledger.rack()

    assert loaded is not None
    assert (loaded.server_version, loaded.log_schema) == ("0.1.0", 0)
    assert loaded.start_version(LEDGERD, "0.1.0", 1)


def stored_at(
    ledger: LedgerApplication, rack: Rack, version: int, topic: str, state: dict[str, Any]
) -> StoredEvent:
    record = stored(ledger, topic, state)
    return StoredEvent(rack.id, version, record.topic, record.state)


def test_an_upcast_event_is_signed_as_it_was_stored_not_as_upcast(
    ledger: LedgerApplication,
) -> None:
    state = {
        "originator_topic": Build.TOPIC,
        "build_id": "BABCDEFGHJK",
        "description": "",
        "source": "image:shop:1",
        "image": "shop:1",
    }
    notification = as_notification(stored(ledger, Build.Created.TOPIC, state))

    item = projectable(notification, EventDecoder(ledger.mapper))
    signed = audit_record(item, 1)

    assert item.event.commit == {}  # type: ignore[attr-defined]  # the upcaster's default
    assert "commit" not in signed["data"]  # an upcaster added later changes no leaf
    assert signed["data"]["image"] == "shop:1"
    assert record_text(item, 1) == canonical(signed)


def test_an_event_at_its_class_version_is_signed_with_its_own_fields(
    ledger: LedgerApplication,
) -> None:
    state = {
        "originator_topic": Build.TOPIC,
        "class_version": 2,
        "build_id": "BABCDEFGHJK",
        "description": "",
        "source": "image:shop:1",
        "image": "shop:1",
        "commit": {"sha": "1a2b3c"},
    }
    notification = as_notification(stored(ledger, Build.Created.TOPIC, state))

    item = projectable(notification, EventDecoder(ledger.mapper))

    assert item.as_stored is None
    assert audit_record(item, 1)["data"]["commit"] == {"sha": "1a2b3c"}
