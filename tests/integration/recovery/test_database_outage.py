"""PostgreSQL goes away under a write load and comes back: every call ends within the
database timeout (UNAVAILABLE, saying the database is unreachable), a warm app's reads
keep answering from memory, the first writes after the database returns succeed without
restarting ``ledgerd``, and nothing acknowledged is lost.

A real ``ledgerd`` subprocess on a PostgreSQL server of the test's own (stopped with a
fast shutdown, as an outage cuts every connection, then started again on the same port),
written to by a few threads through real gRPC.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.recovery.support import connected, env_versions
from tests.support.docker import skip_or_fail
from tests.support.ledgerd import LedgerdProcess
from tests.support.postgres import MISSING_BINARIES_MESSAGE, PostgresServer, find_pg_bin

pytestmark = pytest.mark.postgres

BOUND = 5.0  # LEDGER_DATABASE_TIMEOUT's default: the feature under test
WRITERS = 4
APPS = ("api", "web")  # two writers per app: they also queue for their app's turn
StartLedgerd = Callable[..., LedgerdProcess]


@dataclass(frozen=True)
class Call:
    """One UpdateEnv as the client saw it."""

    request_id: str
    app: str
    key: str
    code: grpc.StatusCode
    details: str
    seconds: float


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone (the test stops it)."""
    if find_pg_bin() is None:
        skip_or_fail(MISSING_BINARIES_MESSAGE)
    with PostgresServer() as server:
        yield server


def update_env(client: LedgerStub, app: str, key: str, request_id: str) -> Call:
    started = time.monotonic()
    request = pb.UpdateEnvRequest(app=app, set={key: "v"}, request_id=request_id)
    try:
        client.UpdateEnv(request, timeout=60)
        code, details = grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        code, details = error.code(), error.details() or ""
    return Call(request_id, app, key, code, details, time.monotonic() - started)


class Load:
    """``WRITERS`` threads setting a new key with a new request id, call after call."""

    def __init__(self, client: LedgerStub) -> None:
        self.client = client
        self.calls: list[Call] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(WRITERS)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def _write(self, n: int) -> None:
        app = APPS[n % len(APPS)]
        count = 0
        while not self._stop.is_set():
            count += 1
            call = update_env(self.client, app, f"W{n}_{count}", uuid.uuid4().hex)
            self.calls.append(call)
            if call.code != grpc.StatusCode.OK:
                time.sleep(0.05)  # a client backing off a little, as ledgerctl does


class Reads:
    """GetApp of a warm app, again and again, from a thread of its own."""

    def __init__(self, client: LedgerStub, app: str) -> None:
        self.client = client
        self.app = app
        self.answers: list[tuple[grpc.StatusCode, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> Reads:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)

    def _read(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.client.GetApp(pb.GetAppRequest(name=self.app), timeout=60)
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                code = error.code()
            self.answers.append((code, time.monotonic() - started))
            time.sleep(0.1)


def first_write_after(client: LedgerStub) -> tuple[Call, float]:
    """Write until a call succeeds; the first call and the seconds until one succeeded."""
    started = time.monotonic()
    first: Call | None = None
    while True:
        call = update_env(client, "api", f"AFTER_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex)
        first = first or call
        if call.code == grpc.StatusCode.OK:
            return first, time.monotonic() - started
        assert time.monotonic() - started < 30, f"no write succeeded: {call}"


@pytest.mark.parametrize("outage", [10.0, 30.0], ids=["10s", "30s"])
def test_during_a_database_outage_calls_end_within_the_bound_and_writes_resume_after_it(
    own_postgres: PostgresServer,
    ledgerd_process: StartLedgerd,
    tmp_path: Path,
    outage: float,
) -> None:
    url = own_postgres.create_database("ledger")
    server = ledgerd_process({"LEDGER_DATABASE_URL": url, "LEDGER_DATA": str(tmp_path / "d")})
    with connected(server) as client:
        for app in (*APPS, "warm"):
            client.CreateApp(pb.CreateAppRequest(name=app))
        client.GetApp(pb.GetAppRequest(name="warm"))

        with Load(client) as load, Reads(client, "warm") as reads:
            time.sleep(1.0)
            own_postgres.pause()
            time.sleep(outage)
            during = list(load.calls)
            own_postgres.resume()
            resumed_at = time.monotonic()
        first, seconds_to_write = first_write_after(client)
        since_resume = time.monotonic() - resumed_at

        refused = [c for c in during if c.code != grpc.StatusCode.OK]
        assert refused, "no call met the outage"
        assert {c.code for c in refused} == {grpc.StatusCode.UNAVAILABLE}
        # Each says why: the database is unreachable, or the commands before it on its app
        # are still waiting for it, or it recorded the change before losing it.
        assert all("database" in c.details for c in refused), {c.details for c in refused}
        slowest = max(c.seconds for c in load.calls)
        assert slowest < 2 * BOUND, f"a call took {slowest:.1f} s"
        assert {code for code, _ in reads.answers} == {grpc.StatusCode.OK}
        assert max(seconds for _, seconds in reads.answers) < 2 * BOUND
        assert first.code == grpc.StatusCode.OK, first
        assert seconds_to_write < 2.0 and since_resume < 2 * BOUND

        # Every call acknowledged is in the log once; a refused one, sent again with its
        # request id, is applied once too (or found applied).
        for call in [c for c in load.calls if c.code != grpc.StatusCode.OK]:
            again = update_env(client, call.app, call.key, call.request_id)
            assert again.code == grpc.StatusCode.OK, again
        for app in APPS:
            added = [key for keys in env_versions(client, app).values() for key in keys]
            expected = {c.key for c in load.calls if c.app == app}
            assert sorted(added) == sorted(set(added)), "a key was set twice"
            assert expected <= set(added)
            env = client.GetEnv(pb.GetEnvRequest(app=app, reveal=True))
            assert expected <= set(env.values)
