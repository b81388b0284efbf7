"""End-to-end tamper evidence: `ledgerctl audit` against a real `ledgerd` on SQLite.

Each tampering scenario edits the events file directly while `ledgerd` is stopped (the
events table of the library's SQLite recorder: ``stored_events``, notification id =
``rowid``), restarts it, exports a bundle and checks that offline verification names the
first position that was tampered with. The projection's tree still holds what was
written (that is the evidence); the export reads the events from the store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Deployment, Result

pytestmark = pytest.mark.parametrize("deployment", ["sqlite"], indirect=True)


def history(d: Deployment) -> None:
    d.ctl("apps", "create", "shop")
    d.ctl("-a", "shop", "deploy", "--image", "shop:1", "--wait")
    d.ctl("-a", "shop", "env", "set", "DATABASE_URL=postgres://db/shop")
    d.ctl("-a", "shop", "build", "--image", "shop:2")


def public_key(d: Deployment) -> str:
    printed = d.ledgerd("audit", "public-key")
    assert printed.returncode == 0, printed.stderr
    return printed.stdout.strip()


def export_and_verify(d: Deployment, bundle: Path, key: str) -> Result:
    state = ["--state-dir", str(bundle.parent / "state")]
    d.ctl("audit", "export", "--out", str(bundle), *state)
    return d.ctl("audit", "verify", str(bundle), "--key", key, ok=False)


def tampered(d: Deployment, tmp_path: Path, tamper: Callable[[sqlite3.Connection], int]) -> Result:
    """Verify an honest export, tamper while stopped, restart, export and verify again;
    ``tamper`` returns the first position it changed."""
    history(d)
    key = public_key(d)
    honest = export_and_verify(d, tmp_path / "before", key)
    assert honest.code == 0, honest.err
    d.stop()
    with sqlite3.connect(Path(d.env["LEDGER_DATA"]) / "events.sqlite") as events:
        first = tamper(events)
    d.start()
    result = export_and_verify(d, tmp_path / "after", key)
    assert result.code == 1
    problems = result.err.splitlines()
    assert f"position {first} " in problems[0], result.err
    assert problems[-1].endswith(f"problem(s), the first at position {first}")
    return result


def rowid_of(events: sqlite3.Connection, topic: str) -> int:
    (rowid,) = events.execute(
        "SELECT rowid FROM stored_events WHERE topic = ? ORDER BY rowid LIMIT 1", (topic,)
    ).fetchone()
    return int(rowid)


def test_an_export_of_an_untouched_log_verifies_with_the_key_ledgerd_announced(
    deployment: Deployment, tmp_path: Path
) -> None:
    history(deployment)
    key = public_key(deployment)

    result = export_and_verify(deployment, tmp_path / "bundle", key)

    assert result.code == 0, result.err
    assert result.out.startswith("OK: all ")
    assert deployment.process is not None
    assert any(f"signed by the public key {key}" in line for line in deployment.process.output)


def test_one_byte_edited_in_a_stored_event_is_detected_at_its_position(
    deployment: Deployment, tmp_path: Path
) -> None:
    def edit(events: sqlite3.Connection) -> int:
        rowid = rowid_of(events, "ledger:EnvChanged")
        (state,) = events.execute("SELECT state FROM stored_events WHERE rowid = ?", (rowid,))
        edited = bytearray(state[0])
        edited[len(edited) // 2] ^= 0x01
        events.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (bytes(edited), rowid))
        return rowid

    result = tampered(deployment, tmp_path, edit)

    assert "does not match the signed log (edited, or replaced)" in result.err


def test_a_deleted_event_is_detected_as_a_missing_position(
    deployment: Deployment, tmp_path: Path
) -> None:
    def delete(events: sqlite3.Connection) -> int:
        rowid = rowid_of(events, "ledger:ReleaseCreated")
        events.execute("DELETE FROM stored_events WHERE rowid = ?", (rowid,))
        return rowid

    result = tampered(deployment, tmp_path, delete)

    assert "is missing" in result.err.splitlines()[0]


def test_two_events_swapped_are_detected_at_the_first_of_them(
    deployment: Deployment, tmp_path: Path
) -> None:
    def swap(events: sqlite3.Connection) -> int:
        first = rowid_of(events, "ledger:BuildCreated")
        second = rowid_of(events, "ledger:EnvChanged")
        columns = "originator_id, originator_version, topic, state"
        a, b = (
            events.execute(f"SELECT {columns} FROM stored_events WHERE rowid = ?", (r,)).fetchone()
            for r in (first, second)
        )
        update = (
            "UPDATE stored_events SET originator_id = ?, originator_version = ?, topic = ?, "
            "state = ? WHERE rowid = ?"
        )
        events.execute("UPDATE stored_events SET originator_version = -1 WHERE rowid = ?", (first,))
        events.execute(update, (*a, second))
        events.execute(update, (*b, first))
        return min(first, second)

    result = tampered(deployment, tmp_path, swap)

    assert "does not match the signed log" in result.err.splitlines()[0]


def edit_actor(record: dict[str, Any]) -> None:
    record["actor"] = "mallory (K0000000000)"


def edit_type(record: dict[str, Any]) -> None:
    record["type"] = "KeyRevoked"


def edit_app(record: dict[str, Any]) -> None:
    record["app"] = "payments"


def edit_time(record: dict[str, Any]) -> None:
    record["time"] = "2020-01-01T00:00:00.000000Z"


def edit_digest(record: dict[str, Any]) -> None:
    record["data"]["values"]["DATABASE_URL"] = "hmac-sha256:0000000000000000"


@pytest.mark.parametrize("edit", [edit_actor, edit_type, edit_app, edit_time, edit_digest])
def test_who_did_what_edited_in_a_bundle_fails_verification_at_its_position(
    deployment: Deployment, tmp_path: Path, edit: Callable[[dict[str, Any]], None]
) -> None:
    history(deployment)
    key = public_key(deployment)
    bundle = tmp_path / "bundle"
    assert export_and_verify(deployment, bundle, key).code == 0
    lines = (bundle / "events.jsonl").read_text("utf-8").splitlines()
    index, event = next(
        (i, json.loads(line))
        for i, line in enumerate(lines)
        if json.loads(line)["record"]["type"] == "EnvChanged"
    )
    edit(event["record"])
    lines[index] = json.dumps(event)
    (bundle / "events.jsonl").write_text("\n".join(lines) + "\n", "utf-8")

    result = deployment.ctl("audit", "verify", str(bundle), "--key", key, ok=False)

    assert result.code == 1
    position = event["position"]
    assert result.err.splitlines()[0] == (
        f"event at position {position} does not match the signed log (edited, or replaced)"
    )
    assert result.err.splitlines()[-1].endswith(f"the first at position {position}")


def test_the_verified_bundle_shows_who_did_what_without_the_secret_value(
    deployment: Deployment, tmp_path: Path
) -> None:
    history(deployment)

    result = export_and_verify(deployment, tmp_path / "bundle", public_key(deployment))

    assert result.code == 0, result.err
    changed = [line for line in result.out.splitlines() if "  EnvChanged  " in line]
    assert len(changed) == 1
    assert "app=shop  actor=admin (" in changed[0]
    assert '"DATABASE_URL":"hmac-sha256:' in changed[0]
    assert "postgres://db/shop" not in result.out
