"""The write load of the fault campaign (``bench/faults.py``) and the checks made after a fault.

Each writer owns an app and sends ``UpdateEnv`` calls, each with a request id and a key of
its own; a call that fails (ledgerd killed, PostgreSQL down, disk full) is sent again with
the SAME request id until it is acknowledged, so a retry of a change the server had
already committed must not apply it twice. Every call attempt is timed. The first writers
also promote their app's latest release now and then (``record`` runtime).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc

from bench import client as bench_client
from bench.client import Client
from ledger_api.v1 import ledger_pb2 as pb

RETRY_AFTER = 0.02  # seconds between attempts of a failed call
CHECK_TIMEOUT = 30.0  # seconds a read of the checks may take
PAUSE_WITHIN = 180.0  # seconds the writers get to have their calls in progress acknowledged
PROMOTE_EVERY = 5  # a promoting writer promotes after every 5th env change
PROMOTERS = 2  # how many writers also promote
# Reconnect quickly after a restart: gRPC's default backoff (1 s, growing) would be timed too.
RECONNECT = (
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 250),
)


def channel(target: str, tag: int) -> grpc.aio.Channel:
    """An aio channel of its own (``tag``) that reconnects within 250 ms."""
    options = [*bench_client.OPTIONS, *RECONNECT, ("bench.channel", tag)]
    return grpc.aio.insecure_channel(target, options=options)


@dataclass
class Attempt:
    """One call as the client saw it: monotonic start and end, and how it ended."""

    kind: str  # "env" or "promote"
    start: float
    end: float
    outcome: str  # "ok" or the status code's name


@dataclass
class Acknowledged:
    """An env change the server acknowledged."""

    app: str
    key: str
    value: str
    version: int
    request_id: str
    release_id: str


@dataclass
class Writers:
    """``count`` writers on apps ``<prefix>0`` … (deployed by ``prepare``)."""

    target: str
    count: int
    prefix: str
    value_size: int = 16
    acknowledged: list[Acknowledged] = field(default_factory=list)
    promotions: dict[str, tuple[str, str]] = field(default_factory=dict)  # rid -> (app, id)
    attempts: list[Attempt] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # "kind STATUS" -> one message
    without_release: int = 0  # acknowledgements that did not say which release they made
    checked: int = 0  # acknowledged changes whose releases were read back already
    released: dict[str, str] = field(default_factory=dict)  # request id -> its release (log)
    crashed: list[str] = field(default_factory=list)
    _running: asyncio.Event = field(default_factory=asyncio.Event)
    _idle: list[asyncio.Event] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _clients: list[Client] = field(default_factory=list)

    def apps(self) -> list[str]:
        return [f"{self.prefix}{i}" for i in range(self.count)]

    async def prepare(self) -> None:
        """Connect every writer and deploy its app (so each env change makes a release)."""
        self._clients = [Client(channel(self.target, i)) for i in range(self.count)]
        await self._clients[0].ready()
        await asyncio.gather(
            *(c.deployed_app(a) for c, a in zip(self._clients, self.apps(), strict=True))
        )

    def start(self) -> None:
        self._idle = [asyncio.Event() for _ in range(self.count)]
        self._running.set()
        self._tasks = [asyncio.create_task(self._write(i)) for i in range(self.count)]

    async def pause(self) -> None:
        """Let each writer finish its call in progress (retrying it until acknowledged)."""
        self._running.clear()
        idle = asyncio.gather(*(idle.wait() for idle in self._idle))
        try:
            await asyncio.wait_for(idle, PAUSE_WITHIN)
        except TimeoutError:
            raise TimeoutError(
                f"writers still busy after {PAUSE_WITHIN:g} s: {self.crashed}"
            ) from None

    def resume(self) -> None:
        for idle in self._idle:
            idle.clear()
        self._running.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(c.channel.close() for c in self._clients))

    async def _write(self, writer: int) -> None:
        try:
            await self._writes(writer)
        except Exception as error:  # reported by pause, which would wait for it
            self.crashed.append(f"writer {writer}: {type(error).__name__}: {error}"[:300])
            self._idle[writer].set()
            raise

    async def _writes(self, writer: int) -> None:
        c, app = self._clients[writer], f"{self.prefix}{writer}"
        run = uuid.uuid4().hex[:8]
        for n in range(10**9):
            if not self._running.is_set():
                self._idle[writer].set()
                await self._running.wait()
            key, value = f"K{n}", f"{writer}-{n}-".ljust(self.value_size, "x")
            request = pb.UpdateEnvRequest(app=app, set={key: value}, request_id=f"{run}-{n}")
            reply = await self._until_acknowledged("env", c.stub.UpdateEnv, request)
            self.without_release += not reply.release.id
            self.acknowledged.append(
                Acknowledged(app, key, value, reply.env_version, f"{run}-{n}", reply.release.id)
            )
            if writer < PROMOTERS and n % PROMOTE_EVERY == PROMOTE_EVERY - 1:
                await self._promote(c, app, f"{run}-p{n}")

    async def _promote(self, c: Client, app: str, request_id: str) -> None:
        request = pb.PromoteReleaseRequest(app=app, request_id=request_id)
        try:
            reply = await self._until_acknowledged("promote", c.stub.PromoteRelease, request)
        except grpc.aio.AioRpcError:  # still in flight from the last one: skip this one
            return
        self.promotions[request_id] = (app, reply.id)

    async def _until_acknowledged(self, kind: str, call: Any, request: Any) -> Any:
        while True:
            t0 = time.monotonic()
            try:
                reply = await call(request, metadata=bench_client.METADATA, timeout=60.0)
            except grpc.aio.AioRpcError as error:
                code = error.code().name
                self.attempts.append(Attempt(kind, t0, time.monotonic(), code))
                self.errors.setdefault(f"{kind} {code}", (error.details() or "")[:160])
                if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    raise  # a refusal, not a fault: the caller decides
                await asyncio.sleep(RETRY_AFTER)
                continue
            self.attempts.append(Attempt(kind, t0, time.monotonic(), "ok"))
            return reply
