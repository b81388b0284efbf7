"""The link from a format 1 log to its format 2 successor: roots built a leaf at a time."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transparency import Checkpoint, root_from_leaves
from transparency.link import Link, RootBuilder, link_problem, linked_checkpoint_problem

T0 = datetime(2026, 12, 4, tzinfo=UTC)


def leaves(count: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(count)]


@given(count=st.integers(0, 300))
def test_a_root_built_a_leaf_at_a_time_is_the_rfc_root(count: int) -> None:
    builder = RootBuilder()
    for leaf in leaves(count):
        builder.append(leaf)

    assert builder.size == count
    assert builder.root() == root_from_leaves(leaves(count))


def link(size: int = 5, position: int = 6) -> Link:
    return Link(position, "deploy-ledger", size, root_from_leaves(leaves(size)))


def test_a_link_holds_when_the_first_events_have_its_format_1_root() -> None:
    assert link_problem(link(), root_from_leaves(leaves(5))) is None
    assert "history before the upgrade was rewritten" in (
        link_problem(link(), root_from_leaves([*leaves(4), b"x" * 32])) or ""
    )
    assert "lacks some of the first 5 events" in (link_problem(link(), None) or "")
    assert "claims 9 earlier events" in (link_problem(link(9, 6), None) or "")


def test_a_saved_checkpoint_of_the_old_log_must_be_a_prefix_of_the_linked_log() -> None:
    prefix = Checkpoint("deploy-ledger", 3, root_from_leaves(leaves(3)), T0)
    other = Checkpoint("deploy-ledger", 3, root_from_leaves(leaves(2)), T0)
    longer = Checkpoint("deploy-ledger", 7, root_from_leaves(leaves(7)), T0)
    elsewhere = Checkpoint("another-ledger", 3, root_from_leaves(leaves(3)), T0)

    assert linked_checkpoint_problem(link(), prefix, root_from_leaves(leaves(3))) is None
    assert "does not extend" in (linked_checkpoint_problem(link(), other, prefix.root) or "")
    assert "truncated" in (linked_checkpoint_problem(link(), longer, None) or "")
    assert "not 'deploy-ledger'" in (linked_checkpoint_problem(link(), elsewhere, None) or "")


def test_a_link_record_with_malformed_data_is_refused() -> None:
    record = {"position": 6, "type": "LogUpgraded", "data": {"previous_origin": "x"}}

    with pytest.raises(ValueError, match="malformed"):
        Link.of(record)
    assert Link.of({"type": "EnvChanged"}) is None
