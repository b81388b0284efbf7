"""A full disk is named as such in ``ledgerd``'s log, never with the data it refused.

The ``ledgerd`` subprocess's SQLite files on a small tmpfs the test mounts (as in
``test_disk_full.py``); its log is what it writes to stderr. Needs root to mount.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc

from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.recovery.support import connected
from tests.integration.recovery.test_disk_full import VALUE, fill, small_disk
from tests.support.ledgerd import LedgerdProcess

__all__ = ["small_disk"]  # the fixture, shared with test_disk_full.py

StartLedgerd = Callable[..., LedgerdProcess]


def test_a_write_refused_for_a_full_disk_is_logged_as_such_without_its_data(
    small_disk: Path, ledgerd_process: StartLedgerd
) -> None:
    server = ledgerd_process({"LEDGER_DATA": str(small_disk / "ledger")})
    with connected(server) as api:
        api.CreateApp(pb.CreateAppRequest(name="shop"))
        (small_disk / "filler").write_bytes(b"\0" * (1024 * 1024))

        refused = fill(api, "shop")

    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    log = "".join(server.output)
    assert "the disk of the ledger's database is full" in log
    assert VALUE[:100] not in log
