"""Offline audit bundles: an honest export verifies; each kind of tampering is named."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from transparency import (
    BundleEvent,
    Checkpoint,
    MemoryNodeStore,
    MerkleTree,
    PrivateKey,
    Report,
    VerificationError,
    check_consistency,
    consistency_proofs,
    generate_key,
    inclusion_proofs,
    sign,
    verify_bundle,
    write_bundle,
)

ORIGIN = "ledger.example.com/log"
KEY = generate_key(ORIGIN)
PUBLIC = KEY.public_key()
T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
SIZES = [10, 30, 50]


def synthetic_events(count: int, salt: str = "") -> list[BundleEvent]:
    apps = [uuid.uuid5(uuid.NAMESPACE_URL, f"app-{i}") for i in range(5)]
    return [
        BundleEvent(
            position=p,
            originator_id=str(apps[p % 5]),
            originator_version=p // 5 + 1,
            topic="ledger.domain.app:App.ReleaseCreated",
            state=json.dumps({"release": f"R{p:010d}", "salt": salt}).encode(),
            extra={"app": f"app-{p % 5}", "actor": "ci@example.com"},
        )
        for p in range(1, count + 1)
    ]


def tree_of(events: list[BundleEvent]) -> MerkleTree:
    tree = MerkleTree(MemoryNodeStore())
    tree.append(e.leaf_hash() for e in events)
    return tree


def signed(tree: MerkleTree, size: int, key: PrivateKey = KEY) -> str:
    return sign(Checkpoint(ORIGIN, size, tree.root(size), T0 + timedelta(hours=size)), key)


def export(path: Path, events: list[BundleEvent], checkpoints: list[str] | None = None) -> Path:
    tree = tree_of(events)
    write_bundle(
        path,
        events,
        checkpoints if checkpoints is not None else [signed(tree, s) for s in SIZES],
        inclusion_proofs(tree, len(events), range(len(events))),
        consistency_proofs(tree, SIZES),
    )
    return path


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("honest") / "bundle", synthetic_events(50))


@pytest.fixture
def bundle(honest: Path, tmp_path: Path) -> Path:
    """A private copy of the honest bundle, to tamper with."""
    return Path(shutil.copytree(honest, tmp_path / "bundle"))


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_lines(path: Path, objects: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))


def messages(report: Report) -> list[str]:
    return [p.message for p in report.problems]


def test_an_honest_bundle_of_fifty_events_verifies(honest: Path) -> None:
    report = verify_bundle(honest, PUBLIC)
    assert report.ok, report.summary()
    assert (report.events_verified, report.checkpoints_verified, report.complete) == (50, 3, True)
    assert report.checkpoint is not None and report.checkpoint.size == 50
    root = base64.b64encode(tree_of(synthetic_events(50)).root()).decode()
    assert report.summary() == (
        f"OK: all 50 events of the log, whose tree root matches; log {ORIGIN} at size 50, "
        f"root {root}, signed at 2026-11-28T12:00:00Z; 3 checkpoint(s), each an extension "
        "of the previous one"
    )


def test_the_bundle_files_are_the_documented_ones(honest: Path) -> None:
    assert sorted(p.name for p in honest.iterdir()) == [
        "checkpoints", "consistency.jsonl", "events.jsonl", "proofs.jsonl",
    ]  # fmt: skip
    assert sorted(p.name for p in (honest / "checkpoints").iterdir()) == [
        "0001.txt", "0002.txt", "0003.txt",
    ]  # fmt: skip
    first = read_lines(honest / "events.jsonl")[0]
    assert list(first)[:5] == ["position", "originator_id", "originator_version", "topic", "state"]
    assert read_lines(honest / "proofs.jsonl")[16]["index"] == 16


def test_editing_one_byte_of_one_events_state_names_its_position(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    state = bytearray(base64.b64decode(events[16]["state"]))
    state[3] ^= 0x20
    events[16]["state"] = base64.b64encode(bytes(state)).decode()
    write_lines(bundle / "events.jsonl", events)
    report = verify_bundle(bundle, PUBLIC)
    assert not report.ok and report.first_bad_position == 17
    assert messages(report)[0] == (
        "event at position 17 does not match the signed log (edited, or replaced)"
    )


def test_editing_the_human_readable_fields_is_not_a_problem(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    events[5]["app"] = "renamed"
    write_lines(bundle / "events.jsonl", events)
    assert verify_bundle(bundle, PUBLIC).ok


def test_deleting_one_event_names_the_missing_position(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    write_lines(bundle / "events.jsonl", events[:16] + events[17:])
    report = verify_bundle(bundle, PUBLIC)
    assert messages(report) == ["position 17 is missing"]


def test_deleting_the_last_event_is_detected_against_the_checkpoint_size(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    write_lines(bundle / "events.jsonl", events[:-1])
    assert messages(verify_bundle(bundle, PUBLIC)) == ["position 50 is missing"]


def test_a_prefix_of_the_log_verifies_when_completeness_is_not_required(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    write_lines(bundle / "events.jsonl", events[:20])
    report = verify_bundle(bundle, PUBLIC, require_complete=False)
    assert report.ok and not report.complete and report.events_verified == 20
    assert "20 of the log's 50 events" in report.summary()


def test_a_duplicated_event_is_named(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    write_lines(bundle / "events.jsonl", [*events[:17], events[16], *events[17:]])
    assert messages(verify_bundle(bundle, PUBLIC)) == ["position 17 appears 2 times"]


def test_swapping_two_event_lines_is_named_as_out_of_order(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    events[20], events[30] = events[30], events[20]
    write_lines(bundle / "events.jsonl", events)
    report = verify_bundle(bundle, PUBLIC)
    assert report.first_bad_position == 21
    assert messages(report) == ["events are out of order: line 21 holds position 31, not 21"]


def test_swapping_two_events_in_history_names_the_first_of_them(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    for key in ("originator_id", "originator_version", "topic", "state"):
        events[20][key], events[30][key] = events[30][key], events[20][key]
    write_lines(bundle / "events.jsonl", events)
    report = verify_bundle(bundle, PUBLIC)
    assert [p.position for p in report.problems] == [21, 31, None]
    assert messages(report)[0] == (
        "event at position 21 does not match the signed log (edited, or replaced)"
    )


def test_a_forged_inclusion_proof_is_named_as_such(bundle: Path) -> None:
    proofs = read_lines(bundle / "proofs.jsonl")
    proofs[16]["proof"][0] = base64.b64encode(bytes(32)).decode()
    write_lines(bundle / "proofs.jsonl", proofs)
    report = verify_bundle(bundle, PUBLIC)
    assert messages(report) == ["the inclusion proof for position 17 is forged or corrupt"]


def test_a_checkpoint_signed_by_another_key_is_rejected(bundle: Path) -> None:
    tree = tree_of(synthetic_events(50))
    (bundle / "checkpoints" / "0002.txt").write_text(signed(tree, 30, generate_key(ORIGIN)))
    report = verify_bundle(bundle, PUBLIC)
    assert not report.ok and report.checkpoints_verified == 2
    assert messages(report)[0].startswith("checkpoints/0002.txt: checkpoint: not signed by key")


def test_a_newest_checkpoint_signed_by_another_key_leaves_the_events_unverified(
    bundle: Path,
) -> None:
    tree = tree_of(synthetic_events(50))
    (bundle / "checkpoints" / "0003.txt").write_text(signed(tree, 50, generate_key(ORIGIN)))
    report = verify_bundle(bundle, PUBLIC)
    assert report.events_verified == 0
    assert messages(report) == [
        "checkpoints/0003.txt: checkpoint: not signed by key ledger.example.com/log "
        f"(id {PUBLIC.key_id.hex()}): signed by another key, or this is the wrong key",
        "proofs.jsonl holds proofs against log size(s) [50], but the newest checkpoint that "
        "verifies has size 30 (a checkpoint is missing or not signed by this key): events "
        "cannot be verified",
    ]


def test_a_bundle_whose_only_checkpoint_is_by_another_key_proves_nothing(tmp_path: Path) -> None:
    events = synthetic_events(50)
    impostor = signed(tree_of(events), 50, generate_key(ORIGIN))
    report = verify_bundle(export(tmp_path / "b", events, [impostor]), PUBLIC)
    assert not report.ok and report.checkpoint is None and report.events_verified == 0
    assert messages(report)[-1].startswith("no checkpoint in the bundle is signed by")


def test_a_forged_consistency_proof_is_detected(bundle: Path) -> None:
    proofs = read_lines(bundle / "consistency.jsonl")
    proofs[1]["proof"][-1] = base64.b64encode(bytes(32)).decode()
    write_lines(bundle / "consistency.jsonl", proofs)
    assert messages(verify_bundle(bundle, PUBLIC)) == [
        "the checkpoint of size 50 (2026-11-28T12:00:00Z) is not an extension of the "
        "checkpoint of size 30 (2026-11-27T16:00:00Z): history was rewritten or the proof is "
        "forged"
    ]


def test_an_old_checkpoint_of_a_rewritten_history_is_detected(bundle: Path) -> None:
    forked = tree_of(synthetic_events(30, salt="the history before the rewrite"))
    (bundle / "checkpoints" / "0001.txt").write_text(signed(forked, 10))
    report = verify_bundle(bundle, PUBLIC)
    assert messages(report) == [
        "the checkpoint of size 30 (2026-11-27T16:00:00Z) is not an extension of the "
        "checkpoint of size 10 (2026-11-26T20:00:00Z): history was rewritten or the proof is "
        "forged"
    ]


def test_a_missing_consistency_proof_is_reported(bundle: Path) -> None:
    (bundle / "consistency.jsonl").unlink()
    assert messages(verify_bundle(bundle, PUBLIC)) == [
        "no consistency proof from size 10 to size 30",
        "no consistency proof from size 30 to size 50",
    ]


def test_an_unparsable_event_line_is_reported_with_its_line_and_position(bundle: Path) -> None:
    events = read_lines(bundle / "events.jsonl")
    events[4]["state"] = "not base64!"
    write_lines(bundle / "events.jsonl", events)
    report = verify_bundle(bundle, PUBLIC)
    assert report.first_bad_position == 5
    assert messages(report) == ["events.jsonl line 5: 'state' is not valid base64"]


def test_writing_into_a_non_empty_directory_is_refused(honest: Path) -> None:
    with pytest.raises(FileExistsError):
        write_bundle(honest, [], [], [], [])


def test_the_live_check_accepts_a_log_that_only_grew() -> None:
    tree = tree_of(synthetic_events(50))
    saved = Checkpoint(ORIGIN, 30, tree.root(30), T0)
    new = Checkpoint(ORIGIN, 50, tree.root(50), T0 + timedelta(days=1))
    check_consistency(saved, new, tree.consistency_proof(30, 50))
    check_consistency(saved, saved, [])


def test_the_live_check_names_a_rewritten_history() -> None:
    tree = tree_of(synthetic_events(50))
    rewritten = tree_of(synthetic_events(50, salt="rewritten"))
    saved = Checkpoint(ORIGIN, 30, tree.root(30), T0)
    new = Checkpoint(ORIGIN, 50, rewritten.root(50), T0 + timedelta(days=1))
    with pytest.raises(VerificationError) as error:
        check_consistency(saved, new, rewritten.consistency_proof(30, 50))
    assert str(error.value) == (
        "the server's log of size 50 is not an extension of the checkpoint of size 30 you saw "
        "on 2026-11-26T10:00:00Z: history was rewritten or the proof is forged"
    )


def test_the_live_check_names_a_log_that_shrank() -> None:
    tree = tree_of(synthetic_events(50))
    saved = Checkpoint(ORIGIN, 50, tree.root(50), T0)
    with pytest.raises(
        VerificationError, match="size 40 is smaller than the checkpoint of size 50"
    ):
        check_consistency(saved, Checkpoint(ORIGIN, 40, tree.root(40), T0), [])
