"""``ledgerd restore`` refuses what does not verify, with one line, and leaves nothing.

One backup of a small SQLite ledger is made for the module; each scenario spoils a copy
of it (or the target) and restores into a data dir that holds only the kept keys.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.fill import fill
from ledger_api.v1 import ledger_pb2 as pb
from server.infra.cipher import KEY_BYTES
from tests.integration.backup.support import (
    backup,
    files,
    keep_secrets,
    ledger_env,
    restore,
)
from tests.integration.recovery.support import connected, run_ledgerd
from tests.integration.server.helpers import create_app, deploy
from tests.support.ledgerd import LedgerdProcess
from transparency import generate_key


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A stopped ledger's data dir and its backup, ``backup`` beside it."""
    root = tmp_path_factory.mktemp("source")
    with LedgerdProcess(ledger_env(root / "ledger"), cwd=root) as server, connected(server) as c:
        create_app(c, "web")
        deploy(c, "web", "web:1")
        c.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"DATABASE_URL": "postgres://db"}))
        deploy(c, "web", "web:2")
    backup(ledger_env(root / "ledger"), root / "backup")
    yield root


@pytest.fixture
def copy(source: Path, tmp_path: Path) -> Path:
    """A copy of the backup, to spoil."""
    path = tmp_path / "copy.backup"
    shutil.copy2(source / "backup", path)
    return path


@pytest.fixture
def target(source: Path, tmp_path: Path) -> Path:
    """An empty data dir but for the keys the operator kept."""
    keep_secrets(source / "ledger", tmp_path / "target")
    return tmp_path / "target"


def lines_of(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines(keepends=True)


def rewrite(path: Path, lines: list[bytes], *, digest: bool) -> None:
    """Write ``lines`` back; with ``digest``, the trailer made to match (a forgery)."""
    if digest:
        body = b"".join(lines[:-1])
        trailer = {"end": True, "count": len(lines) - 2, "sha256": hashlib.sha256(body).hexdigest()}
        lines = [*lines[:-1], json.dumps(trailer).encode() + b"\n"]
    path.write_bytes(gzip.compress(b"".join(lines)))


def refused(target: Path, backup_file: Path, *args: str) -> str:
    """Restore, which must be refused with one line and leave ``target`` as it was."""
    before = files(target)
    code, output = restore(ledger_env(target), backup_file, *args)
    assert code == 1, output
    assert files(target) == before, "the refused restore left files behind"
    assert len(output.splitlines()) == 1, output
    return output.strip()


def test_the_intact_backup_restores(copy: Path, target: Path) -> None:
    code, output = restore(ledger_env(target), copy)
    assert code == 0, output
    assert "events.sqlite" in files(target)


def test_a_flipped_byte_in_the_file_is_refused_as_damaged(copy: Path, target: Path) -> None:
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))

    line = refused(target, copy)

    assert line.startswith("ledgerd: restore refused: the backup ")
    assert "is damaged" in line


def test_a_truncated_file_is_refused(copy: Path, target: Path) -> None:
    copy.write_bytes(copy.read_bytes()[: copy.stat().st_size * 2 // 3])

    assert "is truncated" in refused(target, copy)


def test_a_file_cut_after_an_event_line_is_refused_as_truncated(copy: Path, target: Path) -> None:
    lines = lines_of(copy)
    copy.write_bytes(gzip.compress(b"".join(lines[:-3])))

    assert "is truncated" in refused(target, copy)


def test_a_checkpoint_signed_by_another_key_is_refused(copy: Path, target: Path) -> None:
    other = generate_key("deploy-ledger").public_key().to_text()

    line = refused(target, copy, "--key", other)

    assert f"does not verify with the key {other}" in line


def edit(copy: Path, line: int, field: str, value: object) -> int:
    """Set ``field`` of the event on ``line`` and recompute the digest (a forgery that
    keeps the file intact); the event's log position."""
    lines = lines_of(copy)
    event = json.loads(lines[line])
    event[field] = value
    lines[line] = json.dumps(event).encode() + b"\n"
    rewrite(copy, lines, digest=True)
    return int(event["position"])


def test_an_edited_event_is_refused_naming_its_position(copy: Path, target: Path) -> None:
    position = edit(copy, 5, "originator_version", 1007)

    line = refused(target, copy)

    assert line.endswith(
        "the backup's events do not match its signed checkpoint "
        f"(the first bad one is at log position {position})"
    )


def test_an_edited_event_whose_leaf_hash_was_forged_too_is_refused(
    copy: Path, target: Path
) -> None:
    edit(copy, 5, "originator_version", 1007)
    edit(copy, 5, "leaf", base64.b64encode(bytes(32)).decode())

    line = refused(target, copy)

    assert line.endswith("the backup's events do not match its signed checkpoint")


def test_an_event_of_a_type_this_ledgerd_does_not_know_is_refused_naming_its_position(
    copy: Path, target: Path
) -> None:
    position = edit(copy, 5, "topic", "ledger:AppDeleted")

    line = refused(target, copy)

    assert f"does not know (AppDeleted, from position {position})" in line


def test_an_altered_sealed_state_is_refused_naming_its_position(copy: Path, target: Path) -> None:
    lines = lines_of(copy)
    event = json.loads(lines[4])
    state = bytearray(base64.b64decode(event["state"]))
    state[-1] ^= 0x01
    event["state"] = base64.b64encode(bytes(state)).decode()
    lines[4] = json.dumps(event).encode() + b"\n"
    rewrite(copy, lines, digest=True)

    line = refused(target, copy)

    assert f"the event at log position {event['position']} does not decrypt" in line


def test_an_event_added_after_the_signed_ones_is_refused(copy: Path, target: Path) -> None:
    lines = lines_of(copy)
    header, last = json.loads(lines[0]), json.loads(lines[-2])
    header["count"] += 1
    last["position"] += 1
    last["originator_version"] += 1000
    lines = [json.dumps(header).encode() + b"\n", *lines[1:-1], json.dumps(last).encode() + b"\n"]
    rewrite(copy, [*lines, b""], digest=True)

    assert "is not of the" in refused(target, copy)


def test_a_wrong_cipher_key_is_refused(copy: Path, target: Path) -> None:
    (target / "cipher.key").write_text(base64.b64encode(bytes(KEY_BYTES)).decode() + "\n")

    assert "does not decrypt with the configured cipher key" in refused(target, copy)


def test_a_data_dir_that_holds_a_ledger_is_refused_and_left_alone(
    copy: Path, target: Path, source: Path
) -> None:
    shutil.copy2(source / "ledger" / "events.sqlite", target / "events.sqlite")
    before = (target / "events.sqlite").read_bytes()

    line = refused(target, copy)

    assert "holds a ledger (events.sqlite): restore into an empty data dir" in line
    assert (target / "events.sqlite").read_bytes() == before


def test_a_refused_restore_into_a_new_data_dir_leaves_no_dir(copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "new"
    other = generate_key("deploy-ledger").public_key().to_text()

    code, _ = restore(ledger_env(target), copy, "--key", other)

    assert code == 1
    assert not target.exists()


def test_a_backup_waits_for_the_projections_tree_and_gives_up_after_its_timeout(
    tmp_path: Path,
) -> None:
    fill(tmp_path / "ledger", events=50, apps=2)  # written without the projections running
    out = tmp_path / "ledger.backup"

    result = run_ledgerd(
        ledger_env(tmp_path / "ledger"), "backup", "--out", str(out), "--timeout", "0.2"
    )

    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "within 0.2 s: start ledgerd (it catches up) or run `ledgerd projections rebuild`, "
        "then back up again"
    )
    assert files(tmp_path) == ["ledger"]  # no backup file, not even a partial one


def test_a_backup_without_the_signing_key_is_refused(source: Path, tmp_path: Path) -> None:
    shutil.copytree(source / "ledger", tmp_path / "ledger")
    (tmp_path / "ledger" / "signing.key").unlink()

    result = run_ledgerd(ledger_env(tmp_path / "ledger"), "backup", "--out", str(tmp_path / "b"))

    assert result.returncode == 1
    assert "signing.key does not exist: back up where ledgerd's key is" in result.stderr
    assert not (tmp_path / "ledger" / "signing.key").exists()
