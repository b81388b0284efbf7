"""``ledgerctl audit`` against a real in-process ledgerd: checkpoints, bundles, live checks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl
from tests.support.ledgerd import InProcessLedgerd
from transparency import parse_and_verify

pytestmark = SQLITE_ONLY


def key_of(ledgerd: InProcessLedgerd) -> str:
    return ledgerd.container.audit_log.public_key.to_text()


def test_checkpoint_prints_the_signed_note_and_saves_it_for_this_server(
    ledgerd: InProcessLedgerd, web: Ledgerctl, tmp_path: Path
) -> None:
    web.deploy("web:1")

    result = web.ok("audit", "checkpoint", "--key", key_of(ledgerd), "--state-dir", str(tmp_path))

    checkpoint = parse_and_verify(result.stdout, ledgerd.container.audit_log.public_key)
    assert checkpoint.size == ledgerd.container.ledger.head()
    saved = list((tmp_path / "checkpoints").iterdir())
    assert [path.read_text() for path in saved] == [result.stdout]


def test_an_exported_bundle_verifies_offline_with_the_public_key_in_a_file(
    ledgerd: InProcessLedgerd, web: Ledgerctl, tmp_path: Path
) -> None:
    web.deploy("web:1")
    web.ok("env", "set", "DATABASE_URL=postgres://db/web")
    key_file = tmp_path / "ledger.pub"
    key_file.write_text(key_of(ledgerd) + "\n")

    exported = web.ok("audit", "export", "--out", str(tmp_path / "bundle"))
    verified = web.ok("audit", "verify", str(tmp_path / "bundle"), "--key", str(key_file))

    size = ledgerd.container.ledger.head()
    assert f"wrote {size} events" in exported.stdout
    assert verified.stdout.startswith(f"OK: all {size} events of the log")
    assert len(verified.lines) == 1 + size  # the verdict, then who did what per event
    assert "EnvChanged  app=web  actor=admin (" in verified.stdout
    assert "postgres://db/web" not in verified.stdout  # the value is signed as its digest
    first = json.loads((tmp_path / "bundle" / "events.jsonl").read_text().splitlines()[0])
    record = first["record"]
    assert (first["position"], record["log_position"], record["type"]) == (1, 1, "RackCreated")


def test_a_bundle_exported_after_a_saved_checkpoint_proves_the_log_only_grew(
    ledgerd: InProcessLedgerd, web: Ledgerctl, tmp_path: Path
) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    web.ok("audit", "checkpoint", "--key", key_of(ledgerd), *state)
    web.deploy("web:1")

    web.ok("audit", "export", "--out", str(tmp_path / "bundle"), *state)
    verified = web.ok("audit", "verify", str(tmp_path / "bundle"), "--key", key_of(ledgerd))

    assert len(list((tmp_path / "bundle" / "checkpoints").iterdir())) == 2
    assert "2 checkpoint(s), each an extension of the previous one" in verified.stdout


def test_a_live_check_saves_the_checkpoint_and_the_next_one_proves_the_log_only_grew(
    ledgerd: InProcessLedgerd, web: Ledgerctl, tmp_path: Path
) -> None:
    check = ["audit", "verify", "--server", "--state-dir", str(tmp_path)]
    environ = {"LEDGER_PUBLIC_KEY": key_of(ledgerd)}

    first = web(*check, environ=environ)
    web.deploy("web:1")
    second = web(*check, environ=environ)

    assert (first.code, second.code) == (0, 0), first.stderr + second.stderr
    assert "no checkpoint was saved for" in first.stdout
    assert "an extension of the checkpoint of size" in second.stdout
    (saved,) = (tmp_path / "checkpoints").iterdir()
    assert f"\n{ledgerd.container.ledger.head()}\n" in saved.read_text()


def test_a_bundle_with_an_edited_event_fails_and_names_its_position(
    ledgerd: InProcessLedgerd, web: Ledgerctl, tmp_path: Path
) -> None:
    web.deploy("web:1")
    web.ok("audit", "export", "--out", str(tmp_path / "bundle"))
    events = tmp_path / "bundle" / "events.jsonl"
    lines = events.read_text().splitlines()
    edited = json.loads(lines[2])
    edited["topic"] = "ledger:AppDeleted"
    lines[2] = json.dumps(edited)
    events.write_text("\n".join(lines) + "\n")

    result = web("audit", "verify", str(tmp_path / "bundle"), "--key", key_of(ledgerd))

    assert result.code == 1
    assert result.stderr.splitlines()[0] == (
        "event at position 3 does not match the signed log (edited, or replaced)"
    )
    assert "event at position 3: the record's type is not the one of topic" in result.stderr
    assert "the bundle does not verify: 3 problem(s), the first at position 3" in result.stderr


def test_verify_needs_a_key_and_exactly_one_of_a_bundle_or_the_server(
    web: Ledgerctl, tmp_path: Path
) -> None:
    assert web("audit", "verify", "--server").code == 2
    assert web("audit", "verify", str(tmp_path), "--server", "--key", "x+1+2").code == 2
    assert web("audit", "verify", "--key", "not a key", "--server").code == 2
