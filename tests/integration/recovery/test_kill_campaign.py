"""Three ``kill -9`` of ``ledgerd`` at random points of a write load lose nothing, apply
nothing twice and leave views equal to a rebuild. Runs on SQLite files and on PostgreSQL.

Unlike ``test_crash_during_writes`` (one kill, writers stop at the first failure), each
writer here owns its app and carries on through every kill: a call that fails is sent
again with the same request id to the restarted ``ledgerd``, so a change the killed server
had already committed must be answered, not applied a second time. One writer also
promotes its latest release now and then, so kills land in promotions too. The random
points are counts of acknowledged changes (seeded; the seed is in the failure message).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.infra.settings import Settings
from tests.integration.recovery.support import (
    connected,
    events,
    eventually,
    ledgerd_env,
    projections_of,
    run_ledgerd,
)
from tests.integration.server.helpers import create_app, deploy
from tests.support.auth import signed_in
from tests.support.ledgerd import LedgerdProcess

WRITERS = 4
KILLS = 3
PROMOTE_EVERY = 4  # writer 0 promotes its latest release after every 4th change
CALL_TIMEOUT = 10.0
WITHIN = 60.0  # seconds the load gets to reach a kill point, or to finish its calls
IN_FLIGHT = ("pending", "running", "rolling_back")


@dataclass(frozen=True)
class Change:
    """An env change the server acknowledged."""

    app: str
    key: str
    value: str
    version: int
    request_id: str


class Load:
    """``WRITERS`` threads, writer ``n`` setting a new key of app ``app<n>`` per call until
    stopped; a call that fails for want of a server is retried, same request id, on
    whatever ``address`` is then."""

    def __init__(self, address: str, token: str) -> None:
        self.address = address
        self.token = token
        self.acknowledged: list[Change] = []
        self.promotions: list[tuple[str, str]] = []  # (app, promotion id)
        self.failures: list[str] = []  # calls refused for another reason than a fault
        self._paused = False
        self._stopped = False
        self._busy = WRITERS
        self._lock = threading.Condition()
        self._threads = [
            threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(WRITERS)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_for_more(self, count: int) -> None:
        """Until ``count`` more changes are acknowledged."""
        with self._lock:
            goal = len(self.acknowledged) + count
            reached = self._lock.wait_for(
                lambda: len(self.acknowledged) >= goal or bool(self.failures), WITHIN
            )
            assert not self.failures, self.failures
            assert reached, f"{len(self.acknowledged)} changes acknowledged, waiting for {goal}"

    def point_at(self, address: str) -> None:
        with self._lock:
            self.address = address
            self._lock.notify_all()

    def wait_for_another_address(self, address: str, timeout: float) -> None:
        """Until the load points at another ledgerd than ``address`` (or ``timeout`` s)."""
        with self._lock:
            self._lock.wait_for(lambda: self.address != address, timeout)

    def pause(self) -> None:
        """Until every writer's call in progress is acknowledged (writers then wait)."""
        with self._lock:
            self._paused = True
            idle = self._lock.wait_for(lambda: self._busy == 0, WITHIN)
            assert not self.failures, self.failures
            assert idle, f"{self._busy} writers still without an answer after {WITHIN:g} s"

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._lock.notify_all()

    def stop(self) -> None:
        with self._lock:
            self._stopped = self._paused = True
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(CALL_TIMEOUT * 2)

    def _write(self, writer: int) -> None:
        app, server = f"app{writer}", Server(self)
        try:
            for n in range(1_000_000):
                if not self._may_go_on():
                    return
                key, value, request_id = f"K{n}", f"value-{writer}-{n}", f"w{writer}-{n}"
                request = pb.UpdateEnvRequest(app=app, set={key: value}, request_id=request_id)
                reply = server.until_acknowledged("UpdateEnv", request)
                with self._lock:
                    self.acknowledged.append(Change(app, key, value, reply.env_version, request_id))
                    self._lock.notify_all()
                if writer == 0 and n % PROMOTE_EVERY == PROMOTE_EVERY - 1:
                    promote = pb.PromoteReleaseRequest(app=app, request_id=f"p{n}", queue=True)
                    promotion = server.until_acknowledged("PromoteRelease", promote)
                    with self._lock:
                        self.promotions.append((app, promotion.id))
        except grpc.RpcError as error:
            with self._lock:
                self.failures.append(f"writer {writer}: {error.code()} {error.details()}")
                self._busy -= 1
                self._lock.notify_all()
        finally:
            server.close()

    def _may_go_on(self) -> bool:
        """Between calls: wait while paused; False once stopped."""
        with self._lock:
            self._busy -= 1
            self._lock.notify_all()
            self._lock.wait_for(lambda: not self._paused or self._stopped)
            if self._stopped:
                return False
            self._busy += 1
            return True


class Server:
    """One writer's connection to the ledgerd the load points at now."""

    RETRIED = (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    )

    def __init__(self, load: Load) -> None:
        self.load = load
        self.address = ""
        self.raw: grpc.Channel | None = None
        self.channel: grpc.Channel | None = None

    def until_acknowledged(self, method: str, request: Message) -> Any:
        """``method``'s answer to ``request``, sent again until one comes."""
        while True:
            try:
                return getattr(self._stub(), method)(request, timeout=CALL_TIMEOUT)
            except grpc.RpcError as error:
                if error.code() not in self.RETRIED:
                    raise
            self.load.wait_for_another_address(self.address, 0.2)

    def _stub(self) -> LedgerStub:
        if self.channel is None or self.address != self.load.address:
            self.close()
            self.address = self.load.address
            self.raw = grpc.insecure_channel(self.address)
            self.channel = signed_in(self.raw, self.load.token)
        return LedgerStub(self.channel)

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()
        self.raw = self.channel = None


def test_three_kills_at_random_points_of_a_write_load_lose_nothing_acknowledged(
    ledgerd_settings: Settings, ledgerd_process: Callable[..., LedgerdProcess]
) -> None:
    seed = random.randrange(1 << 30)
    points = random.Random(seed).sample(range(5, 60), KILLS)
    env = {**ledgerd_env(ledgerd_settings), "LEDGER_RATE_LIMIT": "0"}
    server = ledgerd_process(env)
    with connected(server) as client:
        for writer in range(WRITERS):
            create_app(client, f"app{writer}")
            deploy(client, f"app{writer}", "web:1")  # so that every env change makes a release
    load = Load(server.address, server.token)
    load.start()
    try:
        for point in points:
            load.wait_for_more(point)
            server.kill()
            server = ledgerd_process(env)
            load.point_at(server.address)
            load.pause()
            with connected(server) as client:
                assert nothing_lost(client, load) == [], f"seed {seed}, kills after {points}"
            load.resume()
        load.pause()
        with connected(server) as client:
            resumed = [settled_projections(client, f"app{n}") for n in range(WRITERS)]
    finally:
        load.stop()
    assert len(load.promotions) > 0, "no promotion was acknowledged: nothing of them tested"
    # The views the restarted ledgerd kept up equal those a rebuild from the log makes.
    server.stop()
    rebuild = run_ledgerd(env, "projections", "rebuild")
    assert rebuild.returncode == 0, rebuild.stderr
    with connected(ledgerd_process(env)) as client:
        assert [projections_of(client, f"app{n}") for n in range(WRITERS)] == resumed


def nothing_lost(client: LedgerStub, load: Load) -> list[str]:
    """What the ledger lacks or holds twice of what it acknowledged to the load: each
    change has one ``EnvChanged`` with its request id, env version and key, and one
    release holding its value; the log's positions are distinct and ascending; every
    acknowledged promotion is there."""
    log = events(client)
    positions = [event.position for event in log]
    problems = [] if positions == sorted(set(positions)) else ["positions repeat or go back"]
    changed: dict[str, list[tuple[int, list[str]]]] = {}
    released: dict[str, list[str]] = {}
    for event in log:
        data = json.loads(event.data)
        if event.type == "EnvChanged" and event.request_id:
            changed.setdefault(event.request_id, []).append((data["env_version"], data["added"]))
        if event.type == "ReleaseRegistered" and event.request_id:
            released.setdefault(event.request_id, []).append(data["release_id"])
    for change in load.acknowledged:
        if changed.get(change.request_id) != [(change.version, [change.key])]:
            problems.append(f"{change}: recorded as {changed.get(change.request_id)}")
            continue
        (release_id,) = released[change.request_id]
        release = client.GetRelease(pb.GetReleaseRequest(id=release_id, reveal=True))
        if (release.env_version, release.env.get(change.key)) != (change.version, change.value):
            problems.append(f"{change}: its release {release_id} holds something else")
    for app, promotion_id in load.promotions:
        client.GetPromotion(pb.GetPromotionRequest(app=app, id=promotion_id))  # NOT_FOUND fails
    return problems


def settled_projections(client: LedgerStub, app: str) -> object:
    """``projections_of(app)`` once no promotion of it is in flight."""
    eventually(
        lambda: True if not in_flight(client, app) else None, f"{app} settled", timeout=WITHIN
    )
    return projections_of(client, app)


def in_flight(client: LedgerStub, app: str) -> bool:
    current = client.GetApp(pb.GetAppRequest(name=app))
    return current.HasField("promotion") and current.promotion.status in IN_FLIGHT
