"""The leaf format the log records at start: adopted by a new ledger, a link for an old one."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ledger.application import LedgerApplication
from ledger.commands import CreateApp
from ledger.domain import Meta, Rack
from ledger.promoter import Promoter
from ledger.service import LedgerService
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from runtime.record import RecordRuntime
from server.infra.log_upgrade import format_1_tree, record_leaf_format
from server.infra.persistence import ledger_env
from server.infra.settings import Settings
from tests.integration.server.helpers import build, create_app, skip_a_log_position
from tests.integration.server.test_audit import checkpoint, export, public_key
from tests.support.ledgerd import InProcessLedgerd
from transparency import event_leaf_hash, root_from_leaves

ALICE = Meta("alice (K0000000001)")


def rack_events(ledger: LedgerApplication) -> list[str]:
    stored = ledger.recorder.select_notifications(start=1, limit=10_000)
    return [
        n.topic for n in stored if n.topic in {Rack.LeafFormatAdopted.TOPIC, Rack.LogUpgraded.TOPIC}
    ]


def test_a_new_ledger_records_once_that_its_log_starts_with_leaf_format_2(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )
    with InProcessLedgerd(settings) as ledgerd:
        first = ledgerd.container.ledger.rack()
    with InProcessLedgerd(settings) as ledgerd:  # restarted: nothing more to record
        events = rack_events(ledgerd.container.ledger)

    assert first is not None and first.signed_leaf_format == 2
    assert events == [Rack.LeafFormatAdopted.TOPIC]


def test_a_log_written_with_format_1_leaves_gets_one_link_to_its_format_1_root(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "ledger")
    settings.data_dir.mkdir()
    ledger = LedgerApplication(env=ledger_env(settings))
    runtime = RecordRuntime()
    service = LedgerService(ledger, runtime, Promoter(ledger, runtime))
    try:
        service.record_rack_version("0.9.0", Meta("ledgerd"))
        service.create_app(CreateApp("shop"), ALICE)
        stored = ledger.recorder.select_notifications(start=1, limit=100)
        leaves = [
            event_leaf_hash(i + 1, str(n.originator_id), n.originator_version, n.topic, n.state)
            for i, n in enumerate(stored)
        ]

        record_leaf_format(ledger, "deploy-ledger")
        record_leaf_format(ledger, "deploy-ledger")  # a second start finds it done
        rack = ledger.rack()
        link = ledger.recorder.select_notifications(start=len(stored) + 1, limit=10)
    finally:
        service.promoter.close()
        ledger.close()

    assert rack is not None and rack.signed_leaf_format == 2
    assert [n.topic for n in link] == [Rack.LogUpgraded.TOPIC]
    event = ledger.mapper.to_domain_event(link[0])
    assert isinstance(event, Rack.LogUpgraded)
    assert (event.previous_origin, event.previous_size) == ("deploy-ledger", len(stored))
    assert base64.b64decode(event.previous_root) == root_from_leaves(leaves)
    assert event.actor == "ledgerd"


@pytest.mark.parametrize("ledgerd_settings", ["postgres"], indirect=True)
def test_the_format_1_tree_gives_no_leaf_to_the_positions_postgresql_skipped(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client, "web")
    skip_a_log_position(ledgerd_client, "web")
    build(ledgerd_client, "web", "web:2")
    size = checkpoint(ledgerd_client, public_key(ledgerd)).size
    events = export(ledgerd_client, size)
    recorder = ledgerd.container.ledger.recorder

    tree_size, root = format_1_tree(recorder, events[-1].log_position)

    assert events[-1].log_position > len(events), "PostgreSQL left no gap: the scenario is moot"
    assert tree_size == len(events)
    leaves = [
        event_leaf_hash(e.position, e.originator_id, e.originator_version, e.topic, e.state)
        for e in events
    ]
    assert root == root_from_leaves(leaves)
