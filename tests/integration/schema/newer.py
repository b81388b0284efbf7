"""What a newer ``ledgerd`` leaves in a ledger (a SQLite data dir, or a PostgreSQL database
with the data dir of its keys), written through the event store as it would write it: its
rack record, and events of its own making (fields this version does not know, an event
type it does not know)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent

from ledger.application import LedgerApplication
from ledger.domain import App, Meta
from server.infra.persistence import ledger_env
from server.infra.settings import Settings

LEDGERD = Meta(actor="ledgerd")


@contextmanager
def event_store(data_dir: Path, database_url: str = "") -> Iterator[LedgerApplication]:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    ledger = LedgerApplication(env=ledger_env(settings))
    try:
        yield ledger
    finally:
        ledger.close()


def start_version(data_dir: Path, version: str, log_schema: int, database_url: str = "") -> None:
    """Record ``version`` (writing ``log_schema``) as started, as that ledgerd does."""
    with event_store(data_dir, database_url) as ledger:
        rack = ledger.rack()
        assert rack is not None, "a ledgerd has started on this data dir before"
        assert rack.start_version(LEDGERD, version, log_schema)
        ledger.save(rack)


def append(data_dir: Path, originator_id: UUID, topic: str, state: dict[str, Any]) -> None:
    """Append one event as a newer version stores it (its state encoded and encrypted)."""
    with event_store(data_dir) as ledger:
        full = {"timestamp": datetime.now(UTC), "actor": "alice (K0000000001)", **state}
        encoded = ledger.mapper.transcoder.encode({"request_id": "", **full})
        assert ledger.mapper.cipher is not None
        stored = StoredEvent(originator_id, 1, topic, ledger.mapper.cipher.encrypt(encoded))
        ledger.recorder.insert_events([stored])


def create_app_with_a_new_field(data_dir: Path, name: str) -> None:
    """An ``AppCreated`` at its current class version with a field this version lacks."""
    state = {"originator_topic": App.TOPIC, "app": name, "region": "eu-west"}
    append(data_dir, App.create_id(name), App.Created.TOPIC, state)


def record_an_event_of_a_new_type(data_dir: Path) -> None:
    append(data_dir, uuid4(), "ledger:ClusterJoined", {"app": "", "node": "n2"})
