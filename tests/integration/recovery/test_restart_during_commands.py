"""A ``ledgerctl`` command that lands while ``ledgerd`` is stopping (SIGTERM) and being
started again succeeds, and is applied exactly once: ledgerctl retries the call (same
request id) until the new ``ledgerd`` answers.

Real processes: ``ledgerd`` subprocesses on one SQLite ledger and one port, stopped with
SIGTERM as a service manager would; the ``ledgerctl`` entry point in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.recovery.support import connected, events
from tests.support.ledgerd import LedgerdProcess

StartLedgerd = Callable[..., LedgerdProcess]
LEDGERCTL = [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())"]


def wait_until_active(client: Any, release_id: str, seconds: float = 30.0) -> bool:
    """Whether the release becomes the app's active one within ``seconds`` (it ends rather
    than hangs)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if client.GetRelease(pb.GetReleaseRequest(app="shop", id=release_id)).active:
            return True
        time.sleep(0.05)
    return False


def free_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def ledgerctl(address: str, token: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*LEDGERCTL, "--host", address, "-a", "shop", *args],
        env={**os.environ, "LEDGER_TOKEN": token},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    "command",
    [("env", "set", "KEY=landed"), ("deploy", "--image", "shop:1")],
    ids=["env-set", "deploy"],
)
def test_a_command_sent_as_ledgerd_stops_is_retried_until_it_is_back_and_applied_once(
    ledgerd_process: StartLedgerd, tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {"LEDGER_DATA": str(tmp_path / "ledger"), "LEDGER_LISTEN": free_address()}
    old = ledgerd_process(env)
    with connected(old) as client:
        client.CreateApp(pb.CreateAppRequest(name="shop"))
    token = old.token
    assert old.process is not None

    old.process.send_signal(signal.SIGTERM)
    sent = ledgerctl(old.address, token, *command)
    assert old.process.wait(30) == 0
    new = ledgerd_process(env)  # the same data and port, as a restart
    _, err = sent.communicate(timeout=120)

    assert sent.returncode == 0, err
    with connected(new) as client:
        if command[0] == "env":
            env_changes = events(client, "shop", ("EnvChanged",))
            assert [json.loads(e.data)["added"] for e in env_changes] == [["KEY"]]
        else:
            assert len(events(client, "shop", ("BuildCreated",))) == 1
            releases = client.ListReleases(pb.ListReleasesRequest(app="shop")).releases
            assert [r.version for r in releases] == [1]
            # deploy without --wait returns once the promotion is recorded, not done
            assert wait_until_active(client, releases[0].id)
