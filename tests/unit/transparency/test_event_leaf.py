"""The canonical leaf of a stored event: a byte-exact contract with every verifier."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transparency import event_leaf, event_leaf_hash, leaf_hash

UUID = "6f1c2a52-0d3e-4b8e-9a51-3c1f2e4d5a6b"


def test_the_leaf_is_compact_json_with_sorted_keys_and_base64_state() -> None:
    leaf = event_leaf(17, UUID, 3, "ledger.domain.app:App.Created", b"\x00\xff{}")
    assert leaf == (
        b'{"originator_id":"6f1c2a52-0d3e-4b8e-9a51-3c1f2e4d5a6b","originator_version":3,'
        b'"position":17,"state":"AP97fQ==","topic":"ledger.domain.app:App.Created"}'
    )


def test_non_ascii_and_control_characters_are_escaped_so_the_leaf_is_ascii() -> None:
    leaf = event_leaf(1, 'a"b\\c', 0, "caf\u00e9\n\U0001f680\x7f", b"")
    assert leaf == (
        b'{"originator_id":"a\\"b\\\\c","originator_version":0,"position":1,"state":"",'
        b'"topic":"caf\\u00e9\\n\\ud83d\\ude80\\u007f"}'
    )
    assert json.loads(leaf)["topic"] == "caf\u00e9\n\U0001f680\x7f"


def test_the_leaf_round_trips_through_any_json_parser() -> None:
    state = bytes(range(256))
    parsed = json.loads(event_leaf(9, UUID, 2, "t", state))
    assert parsed["position"] == 9
    assert base64.b64decode(parsed["state"]) == state


def test_the_same_event_at_another_position_has_another_leaf_hash() -> None:
    assert event_leaf_hash(5, UUID, 1, "t", b"x") != event_leaf_hash(6, UUID, 1, "t", b"x")


def test_the_event_leaf_hash_is_the_rfc_leaf_hash_of_the_leaf() -> None:
    assert event_leaf_hash(5, UUID, 1, "t", b"x") == leaf_hash(event_leaf(5, UUID, 1, "t", b"x"))


@pytest.mark.parametrize(("position", "version"), [(0, 1), (-1, 1), (1, -1), (True, 1), (1, 1.0)])
def test_positions_below_one_negative_versions_and_non_integers_are_rejected(
    position: object, version: object
) -> None:
    with pytest.raises(ValueError):
        event_leaf(position, UUID, version, "t", b"")  # type: ignore[arg-type]


def test_a_state_that_is_not_bytes_is_rejected() -> None:
    with pytest.raises(TypeError):
        event_leaf(1, UUID, 1, "t", "text")  # type: ignore[arg-type]


@given(
    position=st.integers(1, 2**62),
    originator_id=st.text(max_size=40),
    version=st.integers(0, 2**62),
    topic=st.text(max_size=40),
    state=st.binary(max_size=300),
)
def test_the_leaf_is_the_sorted_compact_ascii_json_of_its_five_fields(
    position: int, originator_id: str, version: int, topic: str, state: bytes
) -> None:
    fields = {
        "originator_id": originator_id,
        "originator_version": version,
        "position": position,
        "state": base64.b64encode(state).decode("ascii"),
        "topic": topic,
    }
    expected = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    assert event_leaf(position, originator_id, version, topic, state) == expected.encode()
