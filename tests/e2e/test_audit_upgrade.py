"""End-to-end: a ledger whose log was signed with leaf format 1, upgraded by `ledgerd`.

The format 1 ledger is written in this process the way an older `ledgerd` wrote it (the
same application and events, with no leaf format recorded), and an auditor's state dir
gets a format 1 checkpoint of it, signed with the ledger's key under the old origin, as
`ledgerctl audit checkpoint` saved it then. A real `ledgerd` then starts on the data dir.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.audit_files import SavedCheckpoints
from ledger.application import LedgerApplication
from ledger.commands import CreateApp, UpdateEnv
from ledger.domain import Meta
from ledger.promoter import Promoter
from ledger.service import LedgerService
from runtime.record import RecordRuntime
from server.infra.persistence import ledger_env
from server.infra.settings import Settings
from server.infra.signing import signing_key
from tests.e2e.conftest import Deployment, Result
from transparency import Checkpoint, event_leaf_hash, root_from_leaves, sign

ALICE = Meta("alice (K0000000001)")


@dataclass
class Upgraded:
    deployment: Deployment
    key: str
    state: Path
    v1_size: int  # events the format 1 log held


def write_format_1_ledger(environ: dict[str, str]) -> list[bytes]:
    """The log an older ledgerd wrote; returns its format 1 leaves."""
    settings = Settings.from_env(environ)
    settings.data_dir.mkdir(parents=True)
    ledger = LedgerApplication(env=ledger_env(settings))
    runtime = RecordRuntime()
    service = LedgerService(ledger, runtime, Promoter(ledger, runtime))
    try:
        service.record_rack_version("0.9.0", Meta("ledgerd"))
        service.create_app(CreateApp("shop"), ALICE)
        service.update_env(UpdateEnv("shop", {"DATABASE_URL": "postgres://db/shop"}), ALICE)
        service.update_env(UpdateEnv("shop", {"DATABASE_URL": "postgres://db2/shop"}), ALICE)
        stored = ledger.recorder.select_notifications(start=1, limit=1000)
        return [
            event_leaf_hash(i + 1, str(n.originator_id), n.originator_version, n.topic, n.state)
            for i, n in enumerate(stored)
        ]
    finally:
        service.promoter.close()
        ledger.close()


def format_1_checkpoint(environ: dict[str, str], leaves: list[bytes]) -> str:
    """A checkpoint of the format 1 log's first leaves, as the older ledgerd signed it."""
    key = signing_key(Settings.from_env(environ))
    root = root_from_leaves(leaves)
    return sign(Checkpoint("deploy-ledger", len(leaves), root, datetime.now(UTC)), key)


@pytest.fixture
def upgraded(tmp_path: Path) -> Iterator[Upgraded]:
    environ = {"LEDGER_DATA": str(tmp_path / "data")}
    leaves = write_format_1_ledger(environ)
    saved = format_1_checkpoint(environ, leaves[:-1])  # the auditor saw it one event ago
    deployment = Deployment(env=environ, cwd=tmp_path)
    deployment.start()
    try:
        assert deployment.process is not None
        state = tmp_path / "auditor"
        SavedCheckpoints(state).save(deployment.process.address, saved)
        printed = deployment.ledgerd("audit", "public-key")
        yield Upgraded(deployment, printed.stdout.strip(), state, len(leaves))
    finally:
        for process in deployment.started:
            process.stop()


def audit(u: Upgraded, *args: str) -> Result:
    return u.deployment.ctl("audit", *args, "--state-dir", str(u.state), ok=False)


def verify(u: Upgraded, bundle: Path) -> Result:
    return u.deployment.ctl("audit", "verify", str(bundle), "--key", u.key, ok=False)


def test_the_upgraded_log_links_the_format_1_log_and_its_bundle_verifies(
    upgraded: Upgraded, tmp_path: Path
) -> None:
    exported = audit(upgraded, "export", "--out", str(tmp_path / "bundle"))
    result = verify(upgraded, tmp_path / "bundle")

    assert exported.code == 0, exported.err
    assert result.code == 0, result.err
    n = upgraded.v1_size
    assert "log deploy-ledger/v2 at size" in result.out
    assert f"position {n + 1} links it to the log deploy-ledger at size {n}" in result.out
    assert "1 checkpoint(s) of it are prefixes of that" in result.out  # the auditor's
    link = json.loads((tmp_path / "bundle" / "events.jsonl").read_text().splitlines()[n])
    assert link["record"]["type"] == "LogUpgraded"
    assert link["record"]["data"]["previous_size"] == n


def test_the_auditors_saved_format_1_checkpoint_is_accepted_live_through_the_link(
    upgraded: Upgraded,
) -> None:
    first = audit(upgraded, "verify", "--server", "--key", upgraded.key)
    second = audit(upgraded, "verify", "--server", "--key", upgraded.key)

    assert first.code == 0, first.err
    n = upgraded.v1_size
    assert f"the log was upgraded at position {n + 1}: it continues the log deploy-ledger" in (
        first.err
    )
    assert second.code == 0, second.err  # the saved checkpoint is the new log's now
    assert "an extension of the checkpoint of size" in second.out


def test_a_format_1_era_event_edited_in_the_bundle_is_named_and_breaks_the_link(
    upgraded: Upgraded, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    assert audit(upgraded, "export", "--out", str(bundle)).code == 0
    lines = (bundle / "events.jsonl").read_text().splitlines()
    event = json.loads(lines[2])
    event["state"] = base64.b64encode(b"rewritten" + base64.b64decode(event["state"])).decode()
    lines[2] = json.dumps(event)
    (bundle / "events.jsonl").write_text("\n".join(lines) + "\n")

    result = verify(upgraded, bundle)

    assert result.code == 1
    problems = result.err.splitlines()
    assert problems[0] == "event at position 3 does not match the signed log (edited, or replaced)"
    assert any("the history before the upgrade was rewritten" in p for p in problems)


def test_a_saved_checkpoint_that_the_linked_log_does_not_extend_is_refused(
    upgraded: Upgraded, tmp_path: Path
) -> None:
    assert upgraded.deployment.process is not None
    environ = upgraded.deployment.env
    forged = format_1_checkpoint(environ, [event_leaf_hash(1, "x", 1, "t", b"another log")])
    SavedCheckpoints(upgraded.state).save(upgraded.deployment.process.address, forged)

    result = audit(upgraded, "verify", "--server", "--key", upgraded.key)

    assert result.code == 1
    assert "does not extend the checkpoint of size 1" in result.err
