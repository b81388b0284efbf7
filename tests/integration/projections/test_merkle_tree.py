"""The log's Merkle tree as the projection keeps it, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from ledger.commands import UpdateEnv
from ledger.domain import Meta
from ledger.domain.base import event_type
from ledger.domain.secrecy import HIDDEN, Mask
from projections import LedgerViews, ProjectionWorker, sql
from projections.audit import Projectable, audit_record
from tests.integration.projections.conftest import ALICE, Ledger
from tests.integration.projections.test_exactly_once import execute_raw, head, items
from transparency import MerkleTree, event_leaf_v2_hash, root_from_leaves, verify_inclusion


def some_history(ledger: Ledger) -> None:
    ledger.create_app("web")
    ledger.deploy("web", "web:1")
    ledger.service.update_env(UpdateEnv(app="web", set_values={"K": "v"}), ALICE)


def stored_leaves(ledger: Ledger, mask: Mask = HIDDEN) -> list[bytes]:
    """The leaf of every stored event, computed from the store and the decoded event."""
    leaves = []
    for index, n in enumerate(ledger.app.recorder.select_notifications(1, 10_000)):
        event = ledger.app.mapper.to_domain_event(n)
        record = audit_record(Projectable(n.id, event_type(n.topic), event, n), index + 1, mask)
        leaves.append(
            event_leaf_v2_hash(
                index + 1, str(n.originator_id), n.originator_version, n.topic, n.state, record
            )
        )
    return leaves


def test_the_projected_tree_has_the_rfc_root_of_every_stored_event(
    ledger: Ledger, views: LedgerViews
) -> None:
    some_history(ledger)
    worker = ProjectionWorker(ledger.app, views, batch_size=3)
    worker.catch_up()
    ledger.service.update_env(UpdateEnv(app="web", set_values={"K": "w"}), ALICE)
    worker.catch_up()

    leaves = stored_leaves(ledger)
    size = views.tree_size()
    tree = views.tree(size, lambda t: (t.root(), t.inclusion_proof(2)))

    assert size == len(leaves) == head(ledger)
    assert tree.root() == root_from_leaves(leaves)
    assert verify_inclusion(leaves[2], 2, size, tree.inclusion_proof(2), tree.root())


def test_a_batch_the_tree_has_already_is_rejected_even_when_no_view_row_conflicts(
    ledger: Ledger, views: LedgerViews
) -> None:
    some_history(ledger)
    with_request = Meta(actor="alice@laptop", request_id=uuid.uuid4().hex)
    ledger.service.update_env(UpdateEnv(app="web", set_values={"K": "w"}), with_request)
    ProjectionWorker(ledger.app, views).catch_up()
    before = views.dump()
    bookkeeping = [i for i in items(ledger) if i.type == "RequestRecorded"]
    assert bookkeeping, "no event without view rows to re-deliver"

    with pytest.raises(IntegrityError):  # a newer tracking position, but old leaves
        views.apply_batch(bookkeeping[-1:], Tracking(ledger.app.name, head(ledger) + 1))

    assert views.dump() == before


def test_views_made_before_the_tree_existed_are_rebuilt_when_opened(
    ledger: Ledger, views: LedgerViews
) -> None:
    some_history(ledger)
    ProjectionWorker(ledger.app, views).catch_up()
    live = views.dump()
    execute_raw(ledger, f"DELETE FROM {views.dialect.table('merkle_nodes')}")

    reopened = ledger.open_views()
    assert reopened.position() == 0
    ProjectionWorker(ledger.app, reopened).catch_up()

    assert reopened.dump() == live
    assert "merkle_nodes" in sql.TABLES


def test_proofs_of_the_trees_this_process_wrote_are_answered_from_memory_alike(
    ledger: Ledger, views: LedgerViews
) -> None:
    some_history(ledger)
    ProjectionWorker(ledger.app, views, batch_size=2).catch_up()
    size = views.tree_size()

    for old_size in (1, size // 2, size):
        for index in range(old_size):

            def prove(tree: MerkleTree, i: int = index, n: int = old_size) -> list[bytes]:
                return tree.inclusion_proof(i, n)

            cached = views.cached_tree(old_size, prove)
            assert cached is not None, f"leaf {index} of {old_size} needed a query"
            assert prove(cached) == prove(views.tree(old_size, prove))


def test_a_freshly_opened_view_reads_the_tree_once_then_answers_from_memory(
    ledger: Ledger, views: LedgerViews
) -> None:
    some_history(ledger)
    ProjectionWorker(ledger.app, views).catch_up()
    size = views.tree_size()
    reopened = ledger.open_views()

    def prove(tree: MerkleTree) -> list[bytes]:
        return tree.inclusion_proof(0, size)

    assert reopened.cached_tree(size, prove) is None  # nothing read yet
    from_database = prove(reopened.tree_at(lambda current: size, prove))
    cached = reopened.cached_tree(size, prove)
    assert cached is not None and prove(cached) == from_database
    assert reopened.cached_tree(size + 1, prove) is None  # a size it has not seen


def test_rebuilding_the_views_empties_the_memory_of_the_tree(
    ledger: Ledger, views: LedgerViews
) -> None:
    some_history(ledger)
    ProjectionWorker(ledger.app, views).catch_up()
    size = views.tree_size()

    views.reset()

    assert views.cached_tree(size, lambda tree: tree.root()) is None
