"""The fault campaign's PostgreSQL outage and full disk (``bench/faults.py`` runs them)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING

import grpc

from bench import client as bench_client
from bench import faultenv
from bench.client import sign_in
from bench.faultcheck import emit_findings, survived
from bench.faultload import Writers
from bench.report import Row, at_least, at_most
from bench.server import Ledgerd
from ledger_api.v1 import ledger_pb2 as pb

if TYPE_CHECKING:
    from bench.faults import Campaign

YES = at_least(1, "yes")
LOAD_BEFORE = 2.0  # seconds of load before each fault
BACK_WITHIN = 120.0  # seconds a write gets to succeed again before the scenario fails
CALL_BOUND = 5.0  # the longest a call may take while PostgreSQL is down (the bound)
DISK = "16m"
LEAVE_FREE = 1024 * 1024  # bytes left on the small disk before the writes fill it
BIG = 60_000  # bytes of one env value on the small disk: it fills in a few calls


async def outage(run: Campaign) -> None:
    """PostgreSQL down for each of ``--outages`` seconds under the write load: the
    longest call meanwhile, the time from PostgreSQL back to the first acknowledged write,
    and then the usual check (nothing acknowledged lost, views equal to a rebuild)."""
    assert run.postgres is not None
    srv = run.server("postgres", "faults_outage")
    await asyncio.to_thread(srv.start)
    sign_in(srv.token())
    writers = Writers(srv.target, run.args.writers, "o")
    await writers.prepare()
    writers.start()
    try:
        for secs in run.args.outages:
            await asyncio.sleep(LOAD_BEFORE)
            down = time.monotonic()
            await asyncio.to_thread(faultenv.postgres_down, run.postgres)
            await asyncio.sleep(secs)
            await asyncio.to_thread(faultenv.postgres_up, run.postgres)
            up = time.monotonic()
            back = await first_ok_after(writers, up)
            await asyncio.sleep(LOAD_BEFORE)
            emit_outage(run, writers, secs, down, up, back)
        await settled(run, srv, writers, up)
        emit_not_found(run, writers, srv)
        found, differ = await survived(srv, writers)
    finally:
        await writers.close()
        await asyncio.to_thread(srv.stop)
    emit_findings(run, "outage", "postgres", found, differ)


async def settled(run: Campaign, srv: Ledgerd, writers: Writers, up: float) -> None:
    """Whether every writer's call in progress is acknowledged after the last outage (the
    writers pause); if not, ``ledgerd`` is restarted so that the check can still be made."""
    try:
        await writers.pause()
        run.emit(
            Row(
                "outage", "postgres", "every call acknowledged after the outages", 1, "", [(YES, 1)]
            )
        )
    except TimeoutError as error:
        since = dict(Counter(f"{a.kind} {a.outcome}" for a in writers.attempts if a.start > up))
        note = (
            f"{error}; attempts since PostgreSQL's return: {since}; ledgerd restarted for the check"
        )
        problems = srv.problems()[:8]
        run.emit(
            Row(
                "outage",
                "postgres",
                "every call acknowledged after the outages",
                0,
                "",
                [(YES, 0)],
                note=note,
                detail={"ledgerd_log": problems},
            )
        )
        await asyncio.to_thread(srv.restart)


def emit_not_found(run: Campaign, writers: Writers, srv: Ledgerd) -> None:
    """Calls answered NOT_FOUND: every writer's app and release exist, so each is a change
    answered as missing though recorded (the views lost it when PostgreSQL crashed)."""
    missing = [a for a in writers.attempts if a.outcome == "NOT_FOUND"]
    resumed = [line for line in srv.problems() if "lost projected positions" in line]
    note = f"views that lost projected batches, resumed from the tracking row: {resumed[:2]}"
    row = Row("outage", "postgres", "calls answered NOT_FOUND", len(missing), "",
              [(at_most(0, "0"), len(missing))], note=note)  # fmt: skip
    run.emit(row)


async def first_ok_after(writers: Writers, moment: float) -> float:
    """Seconds from ``moment`` to the end of the first acknowledged call after it."""
    deadline = moment + BACK_WITHIN
    while time.monotonic() < deadline:
        ends = [a.end for a in writers.attempts if a.outcome == "ok" and a.end > moment]
        if ends:
            return min(ends) - moment
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no write acknowledged within {BACK_WITHIN:g} s of PostgreSQL's return")


def emit_outage(
    run: Campaign, writers: Writers, secs: float, down: float, up: float, back: float
) -> None:
    during = [a for a in writers.attempts if a.start < up and a.end > down]
    longest = max((a.end - a.start for a in during), default=0.0)
    outcomes = dict(Counter(f"{a.kind} {a.outcome}" for a in during))
    figure = f"{secs:g} s down: longest call"
    note = f"calls overlapping the outage: {outcomes}"
    bound = at_most(CALL_BOUND, f"<= {CALL_BOUND:g} s")
    run.emit(
        Row(
            "outage",
            "postgres",
            figure,
            longest,
            "s",
            [(bound, longest)],
            note=note,
            detail={"errors": writers.errors},
        )
    )
    figure = f"{secs:g} s down: PostgreSQL back to first acknowledged write"
    run.emit(Row("outage", "postgres", figure, back, "s", note=f"stopped for {up - down:.2f} s"))


async def disk_full(run: Campaign) -> None:
    """SQLite files on a small tmpfs: writes until one is refused, reads meanwhile, then the
    filler deleted and the time until a write is acknowledged again (same process)."""
    reason = faultenv.can_mount()
    if reason:
        run.emit(Row("disk", "sqlite", "not run", 0, "", note=reason))
        return
    with faultenv.small_disk(DISK) as disk:
        srv = run.server("sqlite", "faults_disk", data_dir=disk / "ledger")
        await asyncio.to_thread(srv.start)
        try:
            sign_in(srv.token())
            async with Single(srv) as c:
                await c.deployed_app("disk")
                pid = srv.pid
                filler = faultenv.fill_disk(disk, LEAVE_FREE)
                acked, refusal = await fill_up(c)
                reads = await read_all(c)
                freed = time.monotonic()
                filler.unlink()
                resumed, attempts = await write_again(c)
                env = await c.stub.GetEnv(
                    pb.GetEnvRequest(app="disk", reveal=True), metadata=bench_client.METADATA
                )
            lost = sum(env.values.get(k) != v for k, v in acked.items())
            restarted = int(srv.pid != pid)
        finally:
            await asyncio.to_thread(srv.stop)
    code, message = refusal
    named = "disk" in message.lower()
    note = f"{code}: {message!r}"
    run.emit(
        Row(
            "disk",
            "sqlite",
            "refusal names the full disk",
            int(named),
            "",
            [(at_least(1, "yes"), int(named))],
            note=note,
        )
    )
    run.emit(
        Row(
            "disk",
            "sqlite",
            "reads served while full",
            reads,
            "of 3",
            [(at_least(3, "3 of 3"), reads)],
        )
    )
    note = f"filler deleted to a write acknowledged, {attempts} attempts, restarts {restarted}"
    run.emit(Row("disk", "sqlite", "time to resume writes", resumed - freed, "s", note=note))
    run.emit(
        Row(
            "disk",
            "sqlite",
            "acknowledged writes lost",
            lost,
            "",
            [(at_most(0, "0"), lost)],
            note=f"of {len(acked)}",
        )
    )


class Single:
    """One client of ``srv`` (``async with``)."""

    def __init__(self, srv: Ledgerd) -> None:
        self.client = bench_client.Client(bench_client.channel(srv.target, 2000))

    async def __aenter__(self) -> bench_client.Client:
        await self.client.ready(30.0)
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.channel.close()


async def fill_up(
    c: bench_client.Client, limit: int = 400
) -> tuple[dict[str, str], tuple[str, str]]:
    """Big env values until one is refused: what was acknowledged, and the refusal."""
    acked: dict[str, str] = {}
    for n in range(limit):
        value = f"{n}-".ljust(BIG, "v")
        try:
            await c.update_env("disk", {f"BIG{n}": value})
        except grpc.aio.AioRpcError as error:
            return acked, (error.code().name, error.details() or "")
        acked[f"BIG{n}"] = value
    raise RuntimeError(f"{limit} writes of {BIG} bytes fitted on a {DISK} disk")


async def read_all(c: bench_client.Client) -> int:
    """How many of GetApp, GetEnv and ListEvents answer on the full disk."""
    served = 0
    calls = [
        c.get_app("disk"),
        c.stub.GetEnv(pb.GetEnvRequest(app="disk"), metadata=bench_client.METADATA),
        c.list_events(page_size=10),
    ]
    for call in calls:
        try:
            await call
            served += 1
        except grpc.aio.AioRpcError:
            pass
    return served


async def write_again(c: bench_client.Client) -> tuple[float, int]:
    """Send one change (one request id, retried every 10 ms) until acknowledged: when, and
    how many attempts it took."""
    request = pb.UpdateEnvRequest(app="disk", set={"AFTER": "freed"}, request_id=uuid.uuid4().hex)
    deadline = time.monotonic() + BACK_WITHIN
    for attempt in range(1, 10**6):
        try:
            await c.stub.UpdateEnv(request, metadata=bench_client.METADATA, timeout=30.0)
            return time.monotonic(), attempt
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)
    raise AssertionError("unreachable")


async def engine_restart(run: Campaign) -> None:
    """The Docker engine restarted during a rollout (``bench/faultdocker.py``)."""
    from bench import faultdocker

    await faultdocker.engine_restart(run)
