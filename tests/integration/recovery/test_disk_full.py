"""A full disk under the ledger (SQLite files on a small tmpfs the test mounts): writes are
refused naming the full disk (not as an outage), reads keep working, and writes resume
once space is freed, without a restart. Whichever file fills first (the log's or the
views'), the refusal says the disk is full; a change the log took before the views' file
filled is not lost: it shows once space is freed. Needs root to mount; skipped without it, except
in CI."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.infra.settings import Settings
from tests.support.docker import skip_or_fail
from tests.support.ledgerd import InProcessLedgerd

SIZE = "4m"  # room for the ledger's start, then a few hundred KiB of writes
VALUE = "x" * 60_000  # an env value near the largest allowed: the disk fills in a few calls


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of ``SIZE`` mounted for the test, with a filler file taking a third of it
    (deleting it frees space later)."""
    if os.geteuid() != 0:
        skip_or_fail("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(api: LedgerStub, app: str, limit: int = 200) -> grpc.RpcError:
    """Set big env values until a call is refused; that refusal."""
    for n in range(limit):
        try:
            api.UpdateEnv(pb.UpdateEnvRequest(app=app, set={f"K{n}": VALUE}))
        except grpc.RpcError as error:
            return error
    raise AssertionError(f"{limit} writes of {len(VALUE)} bytes fitted on a {SIZE} disk")


def test_a_full_disk_refuses_writes_by_name_keeps_reads_and_recovers_when_freed(
    small_disk: Path,
) -> None:
    filler = small_disk / "filler"
    settings = Settings(data_dir=small_disk / "ledger", listen="127.0.0.1:0", console_listen="")
    with InProcessLedgerd(settings) as server, server.channel() as channel:
        api = LedgerStub(channel)
        api.CreateApp(pb.CreateAppRequest(name="shop"))
        filler.write_bytes(b"\0" * (1024 * 1024))

        refused = fill(api, "shop")

        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "disk is full" in (refused.details() or "")
        assert VALUE not in (refused.details() or "")
        assert api.GetApp(pb.GetAppRequest(name="shop")).name == "shop"
        version = api.GetEnv(pb.GetEnvRequest(app="shop")).version

        filler.unlink()
        after = api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"AFTER": "freed"}))

        env = api.GetEnv(pb.GetEnvRequest(app="shop"))
        assert env.version == after.env_version > version
        assert "AFTER" in env.values
