"""Tamper evidence through real gRPC: signed checkpoints, proofs that verify, exports."""

from __future__ import annotations

import json

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from projections import rebuild
from tests.integration.server.helpers import (
    build,
    create_app,
    deploy,
    rpc_error,
    skip_a_log_position,
)
from tests.support.ledgerd import InProcessLedgerd
from transparency import (
    BundleEvent,
    Checkpoint,
    PublicKey,
    parse_and_verify,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)


def public_key(ledgerd: InProcessLedgerd) -> PublicKey:
    return ledgerd.container.audit_log.public_key


def some_history(client: LedgerStub, app: str = "web") -> None:
    create_app(client, app)
    deploy(client, app, f"{app}:1")
    client.UpdateEnv(pb.UpdateEnvRequest(app=app, set={"K": "secret"}))
    build(client, app, f"{app}:2")


def checkpoint(client: LedgerStub, key: PublicKey) -> Checkpoint:
    signed = client.GetCheckpoint(pb.GetCheckpointRequest())
    verified = parse_and_verify(signed.text, key)
    assert (verified.size, verified.root, verified.origin) == (
        signed.size,
        signed.root_hash,
        signed.origin,
    )
    return verified


def export(client: LedgerStub, size: int, *, with_proofs: bool = False) -> list[pb.ExportedEvent]:
    events: list[pb.ExportedEvent] = []
    token = ""
    while True:
        request = pb.ExportEventsRequest(
            tree_size=size, with_proofs=with_proofs, page_size=7, page_token=token
        )
        page = client.ExportEvents(request)
        assert page.tree_size == size
        events.extend(page.events)
        token = page.next_page_token
        if not token:
            return events


def leaf(event: pb.ExportedEvent) -> bytes:
    return BundleEvent(
        event.position,
        event.originator_id,
        event.originator_version,
        event.topic,
        event.state,
        record=json.loads(event.record),
    ).leaf_hash()


def test_the_checkpoint_is_signed_by_the_ledgers_key_and_covers_every_event(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    some_history(ledgerd_client)

    verified = checkpoint(ledgerd_client, public_key(ledgerd))

    assert verified.origin == "deploy-ledger/v2"  # leaf format 2 is a log of its own
    assert verified.size == ledgerd.container.ledger.head() > 0
    events = export(ledgerd_client, verified.size)
    assert [e.position for e in events] == list(range(1, verified.size + 1))
    assert root_from_leaves([leaf(e) for e in events]) == verified.root


def test_the_inclusion_proof_of_every_position_verifies_against_the_checkpoint(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    some_history(ledgerd_client)
    verified = checkpoint(ledgerd_client, public_key(ledgerd))

    for event in export(ledgerd_client, verified.size):
        request = pb.GetInclusionProofRequest(position=event.position, tree_size=verified.size)
        proof = ledgerd_client.GetInclusionProof(request)
        assert (proof.leaf_index, proof.tree_size) == (event.position - 1, verified.size)
        assert verify_inclusion(
            leaf(event), proof.leaf_index, verified.size, proof.hashes, verified.root
        )


def test_exported_proofs_and_the_proof_of_the_current_tree_come_with_what_they_prove(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    some_history(ledgerd_client)
    key = public_key(ledgerd)

    current = ledgerd_client.GetInclusionProof(pb.GetInclusionProofRequest(position=2))
    signed = parse_and_verify(current.checkpoint.text, key)
    exported = export(ledgerd_client, signed.size, with_proofs=True)

    assert current.tree_size == signed.size
    assert list(current.hashes) == list(exported[1].inclusion_proof)
    for event in exported:
        index = event.position - 1
        assert verify_inclusion(leaf(event), index, signed.size, event.inclusion_proof, signed.root)
    assert {e.type for e in exported} >= {"AppCreated", "EnvChanged", "RequestRecorded"}
    assert all(e.app == "web" and e.actor for e in exported if e.type == "EnvChanged")


def test_two_checkpoints_taken_before_and_after_more_writes_are_consistent(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    key = public_key(ledgerd)
    some_history(ledgerd_client, "web")
    before = checkpoint(ledgerd_client, key)

    some_history(ledgerd_client, "api")
    after = checkpoint(ledgerd_client, key)
    request = pb.GetConsistencyProofRequest(old_size=before.size, new_size=after.size)
    proof = ledgerd_client.GetConsistencyProof(request)

    assert after.size > before.size
    assert verify_consistency(before.size, after.size, before.root, after.root, proof.hashes)
    current = ledgerd_client.GetConsistencyProof(pb.GetConsistencyProofRequest(old_size=1))
    assert parse_and_verify(current.checkpoint.text, key).size == current.new_size == after.size


def test_positions_and_sizes_outside_the_tree_are_invalid_arguments(
    ledgerd_client: LedgerStub,
) -> None:
    some_history(ledgerd_client)
    size = ledgerd_client.GetCheckpoint(pb.GetCheckpointRequest()).size
    calls = {
        "position 0": lambda: ledgerd_client.GetInclusionProof(
            pb.GetInclusionProofRequest(position=0)
        ),
        "position beyond": lambda: ledgerd_client.GetInclusionProof(
            pb.GetInclusionProofRequest(position=size + 1)
        ),
        "position beyond the size": lambda: ledgerd_client.GetInclusionProof(
            pb.GetInclusionProofRequest(position=3, tree_size=2)
        ),
        "size beyond": lambda: ledgerd_client.GetInclusionProof(
            pb.GetInclusionProofRequest(position=1, tree_size=size + 1)
        ),
        "old > new": lambda: ledgerd_client.GetConsistencyProof(
            pb.GetConsistencyProofRequest(old_size=3, new_size=2)
        ),
        "new beyond": lambda: ledgerd_client.GetConsistencyProof(
            pb.GetConsistencyProofRequest(old_size=1, new_size=size + 1)
        ),
        "negative old": lambda: ledgerd_client.GetConsistencyProof(
            pb.GetConsistencyProofRequest(old_size=-1)
        ),
        "export size beyond": lambda: ledgerd_client.ExportEvents(
            pb.ExportEventsRequest(tree_size=size + 1)
        ),
        "export negative position": lambda: ledgerd_client.ExportEvents(
            pb.ExportEventsRequest(from_position=-1)
        ),
        "export bad token": lambda: ledgerd_client.ExportEvents(
            pb.ExportEventsRequest(page_token="nonsense")
        ),
    }
    codes = {name: rpc_error(call).code() for name, call in calls.items()}

    assert codes == dict.fromkeys(calls, grpc.StatusCode.INVALID_ARGUMENT)


def test_the_tree_after_a_projection_rebuild_has_the_live_root(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    some_history(ledgerd_client)
    live = ledgerd_client.GetCheckpoint(pb.GetCheckpointRequest())
    container = ledgerd.container

    nodes = container.views.dump()["merkle_nodes"]

    container.worker.stop()
    try:
        rebuilt = rebuild(container.ledger, container.views)
    finally:
        container.worker.start()

    views = container.views
    assert rebuilt == live.size == views.tree_size()
    assert views.tree(live.size, lambda tree: tree.root()).root() == live.root_hash
    assert views.dump()["merkle_nodes"] == nodes


def test_an_export_from_a_position_resumes_there_and_an_empty_tree_exports_nothing(
    ledgerd_client: LedgerStub,
) -> None:
    some_history(ledgerd_client)
    size = ledgerd_client.GetCheckpoint(pb.GetCheckpointRequest()).size

    tail = ledgerd_client.ExportEvents(pb.ExportEventsRequest(from_position=size - 1))
    beyond = ledgerd_client.ExportEvents(pb.ExportEventsRequest(from_position=size + 5))

    assert [e.position for e in tail.events] == [size - 1, size]
    assert not tail.next_page_token
    assert list(beyond.events) == []


@pytest.mark.parametrize("ledgerd_settings", ["postgres"], indirect=True)
def test_skipped_log_positions_leave_the_tree_positions_consecutive(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client, "web")
    skip_a_log_position(ledgerd_client, "web")
    build(ledgerd_client, "web", "web:2")
    verified = checkpoint(ledgerd_client, public_key(ledgerd))

    events = export(ledgerd_client, verified.size, with_proofs=True)

    log_positions = [e.log_position for e in events]
    assert log_positions[-1] > len(events), "PostgreSQL left no gap: the scenario is moot"
    assert [e.position for e in events] == list(range(1, verified.size + 1))
    assert root_from_leaves([leaf(e) for e in events]) == verified.root
    for e in events:
        assert verify_inclusion(
            leaf(e), e.position - 1, verified.size, e.inclusion_proof, verified.root
        )
