"""What the recovery scenarios share: real ``ledgerd`` processes and their gRPC answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.infra.settings import Settings
from tests.support.ledgerd import LedgerdProcess

PAGE = 500
T = TypeVar("T")
Projections = tuple[pb.App, list[pb.Release], list[pb.Event]]


def ledgerd_env(settings: Settings) -> dict[str, str]:
    """The ``LEDGER_*`` variables that point a ``ledgerd`` at the ledger of ``settings``."""
    return {"LEDGER_DATA": str(settings.data_dir), "LEDGER_DATABASE_URL": settings.database_url}


@contextmanager
def connected(process: LedgerdProcess) -> Iterator[LedgerStub]:
    """A gRPC client of ``process`` (over its real TCP socket), signed in as admin."""
    with process.channel() as channel:
        yield LedgerStub(channel)


def run_ledgerd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run a ``ledgerd`` sub-command (e.g. ``projections rebuild``) to its end."""
    command = [sys.executable, "-c", "from server.main import main; main()", *args]
    return subprocess.run(
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def eventually(check: Callable[[], T | None], what: str, timeout: float = 10.0) -> T:
    """``check()``'s first answer that is not None; fails the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer is not None:
            return answer
        assert time.monotonic() < deadline, f"not so after {timeout} s: {what}"
        time.sleep(0.05)


def events(client: LedgerStub, app: str = "", types: tuple[str, ...] = ()) -> list[pb.Event]:
    """Every event of the audit timeline (all pages), oldest first."""
    found: list[pb.Event] = []
    token = ""
    while True:
        request = pb.ListEventsRequest(app=app, types=types, page_size=PAGE, page_token=token)
        page = client.ListEvents(request)
        found.extend(page.events)
        token = page.next_page_token
        if not token:
            return found


def releases(client: LedgerStub, app: str) -> list[pb.Release]:
    """Every release of ``app`` (all pages)."""
    found: list[pb.Release] = []
    token = ""
    while True:
        page = client.ListReleases(
            pb.ListReleasesRequest(app=app, page_size=PAGE, page_token=token)
        )
        found.extend(page.releases)
        token = page.next_page_token
        if not token:
            return found


def env_versions(client: LedgerStub, app: str) -> dict[int, list[str]]:
    """The keys each recorded env version added, by version (from the EnvChanged events)."""
    added: dict[int, list[str]] = {}
    for event in events(client, app, ("EnvChanged",)):
        data = json.loads(event.data)
        added[data["env_version"]] = data["added"]
    return added


def projections_of(client: LedgerStub, app: str) -> Projections:
    """What the read model answers about ``app`` and the whole log."""
    return (
        client.GetApp(pb.GetAppRequest(name=app)),
        releases(client, app),
        events(client),
    )
