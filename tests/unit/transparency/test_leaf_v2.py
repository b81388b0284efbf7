"""Leaf format 2: the stored event and its audit record, byte-exact, and bundles of it."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transparency import (
    BundleEvent,
    Checkpoint,
    MemoryNodeStore,
    MerkleTree,
    canonical,
    event_leaf_v2,
    event_leaf_v2_hash,
    generate_key,
    inclusion_proofs,
    sign,
    verify_bundle,
    write_bundle,
)
from transparency.leaf_v2 import origin, record_problems, rfc3339

KEY = generate_key("ledger.example.com/log/v2")
T0 = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
UUID = "6f1c2a52-0d3e-4b8e-9a51-3c1f2e4d5a6b"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def record(position: int, **changes: Any) -> dict[str, Any]:
    return {
        "position": position,
        "log_position": position,
        "type": "EnvChanged",
        "app": "web",
        "actor": "alice (K0123456789)",
        "request_id": f"req-{position}",
        "time": rfc3339(T0 + timedelta(microseconds=position % 10**9)),
        "data": {"added": ["DB_URL"], "values": {"DB_URL": "hmac-sha256:0123456789abcdef"}},
    } | changes


def dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@given(
    position=st.integers(1, 2**62),
    originator=st.text(max_size=40),
    version=st.integers(0, 2**62),
    topic=st.text(max_size=40),
    state=st.binary(max_size=200),
    value=json_values,
)
def test_the_leaf_is_the_json_dumps_of_the_six_members_with_the_record_nested(
    position: int, originator: str, version: int, topic: str, state: bytes, value: Any
) -> None:
    signed = {**record(position), "data": {"x": value}}
    expected = dumps(
        {
            "originator_id": originator,
            "originator_version": version,
            "position": position,
            "record": signed,
            "state": base64.b64encode(state).decode("ascii"),
            "topic": topic,
        }
    ).encode("ascii")

    leaf = event_leaf_v2(position, originator, version, topic, state, canonical(signed))

    assert leaf == expected
    leaf_hash = event_leaf_v2_hash(position, originator, version, topic, state, signed)
    assert leaf_hash == hashlib.sha256(b"\x00" + expected).digest()


@given(value=json_values)
def test_a_record_read_back_by_any_json_parser_encodes_to_the_same_bytes(value: Any) -> None:
    text = canonical(value)

    assert canonical(json.loads(text)) == text
    assert text.isascii()


def test_times_are_rfc_3339_utc_with_six_fraction_digits() -> None:
    paris = timezone(timedelta(hours=1))

    assert rfc3339(datetime(2026, 12, 5, 0, 9, 30, tzinfo=paris)) == "2026-12-04T23:09:30.000000Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"
    with pytest.raises(ValueError, match="naive"):
        rfc3339(datetime(2026, 1, 2))


def test_the_version_2_log_has_its_own_origin() -> None:
    assert origin("deploy-ledger") == "deploy-ledger/v2"


def test_a_record_that_disagrees_with_its_event_is_a_problem() -> None:
    assert record_problems(3, "ledger:EnvChanged", record(3)) == []
    assert record_problems(3, "ledger:KeyRevoked", record(3)) == [
        "the record's type is not the one of topic 'ledger:KeyRevoked'"
    ]
    assert record_problems(4, "ledger:EnvChanged", record(3))[0] == "the record's position is not 4"
    assert record_problems(3, "ledger:EnvChanged", record(3, time="yesterday")) == [
        "the record's time is not RFC 3339 UTC with microseconds"
    ]
    incomplete = {k: v for k, v in record(3).items() if k != "actor"}
    assert record_problems(3, "ledger:EnvChanged", incomplete) == ["the record lacks actor"]


# -- bundles -----------------------------------------------------------------------------


def events(count: int) -> list[BundleEvent]:
    return [
        BundleEvent(p, UUID, p, "ledger:EnvChanged", f"sealed {p}".encode(), record=record(p))
        for p in range(1, count + 1)
    ]


def bundle(path: Path, count: int = 12) -> Path:
    exported = events(count)
    tree = MerkleTree(MemoryNodeStore())
    tree.append(e.leaf_hash() for e in exported)
    checkpoint = sign(Checkpoint("ledger.example.com/log/v2", count, tree.root(), T0), KEY)
    write_bundle(path, exported, [checkpoint], inclusion_proofs(tree, count, range(count)), [])
    return path


def edit_line(path: Path, position: int, edit: Any) -> None:
    lines = (path / "events.jsonl").read_text().splitlines()
    obj = json.loads(lines[position - 1])
    edit(obj)
    lines[position - 1] = json.dumps(obj)
    (path / "events.jsonl").write_text("\n".join(lines) + "\n")


def test_an_honest_bundle_verifies_and_reports_the_signed_records(tmp_path: Path) -> None:
    report = verify_bundle(bundle(tmp_path / "b"), KEY.public_key())

    assert report.ok, report.summary()
    assert [r["actor"] for r in report.records] == ["alice (K0123456789)"] * 12
    line = json.loads((tmp_path / "b" / "events.jsonl").read_text().splitlines()[0])
    assert sorted(line) == [
        "originator_id",
        "originator_version",
        "position",
        "record",
        "state",
        "topic",
    ]


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("actor", "mallory (K0000000000)"),
        ("app", "payments"),
        ("time", "2026-12-04T23:00:07.000001Z"),
        ("request_id", "req-forged"),
        ("log_position", 8),
    ],
)
def test_an_edited_record_member_fails_naming_its_position(
    tmp_path: Path, member: str, value: object
) -> None:
    path = bundle(tmp_path / "b")
    edit_line(path, 7, lambda obj: obj["record"].__setitem__(member, value))

    report = verify_bundle(path, KEY.public_key())

    assert not report.ok
    assert report.first_bad_position == 7
    assert "event at position 7 does not match the signed log" in report.summary()


def test_an_edited_type_fails_and_disagrees_with_the_topic(tmp_path: Path) -> None:
    path = bundle(tmp_path / "b")
    edit_line(path, 5, lambda obj: obj["record"].__setitem__("type", "KeyRevoked"))

    report = verify_bundle(path, KEY.public_key())

    assert report.first_bad_position == 5
    assert "the record's type is not the one of topic" in report.summary()


def test_an_edited_digest_fails_naming_its_position(tmp_path: Path) -> None:
    path = bundle(tmp_path / "b")
    edit_line(path, 3, lambda obj: obj["record"]["data"]["values"].update(DB_URL="hmac-sha256:0"))

    assert verify_bundle(path, KEY.public_key()).first_bad_position == 3


def test_an_unsigned_member_beside_the_record_is_refused(tmp_path: Path) -> None:
    path = bundle(tmp_path / "b")
    edit_line(path, 2, lambda obj: obj.__setitem__("actor", "mallory (K0000000000)"))

    report = verify_bundle(path, KEY.public_key())

    assert report.first_bad_position == 2
    assert "unsigned member(s) beside the signed record: ['actor']" in report.summary()


def test_a_repeated_key_is_refused_rather_than_read_one_way_or_the_other(tmp_path: Path) -> None:
    path = bundle(tmp_path / "b", 3)
    lines = (path / "events.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"record": {', '"record": {"actor": "mallory", ', 1)
    (path / "events.jsonl").write_text("\n".join(lines) + "\n")

    report = verify_bundle(path, KEY.public_key())

    assert not report.ok
    assert "key 'actor' is repeated" in report.summary()


def test_an_event_without_its_record_does_not_pass_for_a_format_1_leaf(tmp_path: Path) -> None:
    path = bundle(tmp_path / "b", 4)
    edit_line(path, 4, lambda obj: obj.pop("record"))

    assert verify_bundle(path, KEY.public_key()).first_bad_position == 4


def test_uuids_enums_and_datetimes_in_data_are_written_as_documented() -> None:
    value = {"id": uuid.UUID(int=1), "at": datetime(2026, 1, 1, tzinfo=UTC)}

    assert canonical(value) == (
        '{"at":"2026-01-01T00:00:00.000000Z","id":"00000000-0000-0000-0000-000000000001"}'
    )


def test_a_record_nested_too_deeply_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = bundle(tmp_path / "b", 2)
    lines = (path / "events.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace(
        '"data": {', '"data": {"deep": ' + "[" * 100_000 + "]" * 100_000 + ", ", 1
    )
    (path / "events.jsonl").write_text("\n".join(lines) + "\n")

    report = verify_bundle(path, KEY.public_key())

    assert not report.ok
    assert "nested too deeply" in report.summary()
