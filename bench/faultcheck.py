"""The checks of the fault campaign after a fault (``bench/faults.py``).

``check`` reads the ledger back and counts what was acknowledged but is missing, request
ids applied more than once and positions seen twice; ``views`` is what the read model
answers, compared before and after ``ledgerd projections rebuild`` by ``survived``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc

from bench import client as bench_client
from bench.client import Client
from bench.faultload import CHECK_TIMEOUT, PROMOTERS, Acknowledged, Writers, channel
from bench.report import Row, at_most
from bench.server import Ledgerd
from ledger_api.v1 import ledger_pb2 as pb

if TYPE_CHECKING:
    from bench.faults import Campaign

NONE = at_most(0, "0")


@dataclass
class Findings:
    """What a check found; all zero is a ledger that survived."""

    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged changes missing or changed
    applied_twice: list[str] = field(default_factory=list)  # request ids seen on 2+ changes
    duplicate_positions: int = 0
    promotions_lost: list[str] = field(default_factory=list)
    promotions: int = 0
    events: int = 0

    def merge(self, later: Findings) -> Findings:
        """This check and a later one: every problem either found, the later's counts."""
        return Findings(
            acknowledged=later.acknowledged,
            lost=sorted(set(self.lost) | set(later.lost)),
            applied_twice=sorted(set(self.applied_twice) | set(later.applied_twice)),
            duplicate_positions=max(self.duplicate_positions, later.duplicate_positions),
            promotions_lost=sorted(set(self.promotions_lost) | set(later.promotions_lost)),
            promotions=later.promotions,
            events=later.events,
        )

    def summary(self) -> str:
        return (
            f"{self.acknowledged} acknowledged, lost {len(self.lost)}, applied twice "
            f"{len(self.applied_twice)}, duplicate positions {self.duplicate_positions}, "
            f"promotions lost {len(self.promotions_lost)} of {self.promotions}"
        )


async def all_events(c: Client) -> list[pb.Event]:
    """Every event of the log, oldest first (all pages)."""
    found: list[pb.Event] = []
    token = ""
    while True:
        request = pb.ListEventsRequest(page_size=1000, page_token=token)
        page = await c.stub.ListEvents(request, metadata=bench_client.METADATA, timeout=60.0)
        found.extend(page.events)
        token = page.next_page_token
        if not token:
            return found


async def check(c: Client, writers: Writers) -> Findings:
    """Read the ledger back and compare it with what the writers were told."""
    events = await all_events(c)
    positions = [e.position for e in events]
    found = Findings(
        acknowledged=len(writers.acknowledged),
        promotions=len(writers.promotions),
        events=len(events),
    )
    found.duplicate_positions = len(positions) - len(set(positions))
    if positions != sorted(positions):
        found.duplicate_positions += 1  # out of order is as bad: count it
    changes: dict[str, list[tuple[int, list[str]]]] = {}
    writers.released.update(
        (e.request_id, json.loads(e.data)["release_id"])
        for e in events
        if e.type == "ReleaseRegistered" and e.request_id
    )
    for e in events:
        if e.type == "EnvChanged" and e.request_id:
            data = json.loads(e.data)
            changes.setdefault(e.request_id, []).append((data["env_version"], data["added"]))
    found.applied_twice = sorted(rid for rid, seen in changes.items() if len(seen) > 1)
    found.lost = await missing(c, writers, changes)
    for request_id, (app, promotion_id) in writers.promotions.items():
        request = pb.GetPromotionRequest(app=app, id=promotion_id)
        try:
            await c.stub.GetPromotion(
                request, metadata=bench_client.METADATA, timeout=CHECK_TIMEOUT
            )
        except grpc.aio.AioRpcError:
            found.promotions_lost.append(f"{app} {promotion_id} ({request_id})")
    return found


async def missing(
    c: Client, writers: Writers, changes: dict[str, list[tuple[int, list[str]]]]
) -> list[str]:
    """Acknowledged changes not in the ledger as acknowledged. Each must have its one
    ``EnvChanged`` (its request id, env version, key); its release must hold its value
    (read once, after the first fault that follows it); and the apps that nobody promoted
    must hold every value now (a promotion sets the env to the promoted release's, so on
    the promoters' apps a later change may be gone from the current env, rightly)."""
    lost: list[str] = []
    current = {app: await revealed_env(c, app) for app in writers.apps()[PROMOTERS:]}
    for n, ack in enumerate(writers.acknowledged):
        ok = (ack.version, [ack.key]) in changes.get(ack.request_id, [])
        if ack.app in current:
            ok = ok and current[ack.app].get(ack.key) == ack.value
        if n >= writers.checked:
            # A retry's answer may lack the release (see README.md, "Faults"): ask the log.
            release_id = ack.release_id or writers.released.get(ack.request_id, "")
            ok = ok and bool(release_id) and await release_holds(c, ack, release_id)
        if not ok:
            lost.append(f"{ack.app} {ack.key} v{ack.version} ({ack.request_id})")
    writers.checked = len(writers.acknowledged)
    return lost


async def revealed_env(c: Client, app: str) -> dict[str, str]:
    request = pb.GetEnvRequest(app=app, reveal=True)
    env = await c.stub.GetEnv(request, metadata=bench_client.METADATA, timeout=CHECK_TIMEOUT)
    return dict(env.values)


async def release_holds(c: Client, ack: Acknowledged, release_id: str) -> bool:
    """Whether release ``release_id`` has ``ack``'s env version and value."""
    request = pb.GetReleaseRequest(app=ack.app, id=release_id, reveal=True)
    release = await c.stub.GetRelease(
        request, metadata=bench_client.METADATA, timeout=CHECK_TIMEOUT
    )
    return bool(release.env_version == ack.version and release.env.get(ack.key) == ack.value)


async def views(c: Client, apps: list[str]) -> list[Any]:
    """What the read model answers: ListApps, and per app GetApp and every release page,
    and the whole log (as the wire bytes, so any difference counts)."""
    md = bench_client.METADATA
    answer: list[Any] = [
        (
            await c.stub.ListApps(
                pb.ListAppsRequest(page_size=1000), metadata=md, timeout=CHECK_TIMEOUT
            )
        ).SerializeToString()
    ]
    for app in apps:
        await c.settle(app, timeout=120.0)
        answer.append((await c.get_app(app)).SerializeToString())
        token = ""
        while True:
            page = await c.list_releases(app, page_size=500, token=token)
            answer.append(page.SerializeToString())
            token = page.next_page_token
            if not token:
                break
    answer.extend(e.SerializeToString() for e in await all_events(c))
    return answer


async def survived(srv: Ledgerd, writers: Writers) -> tuple[Findings, int]:
    """Pause the writers, check the ledger, then compare its views with those it serves
    after ``ledgerd projections rebuild``: the findings and how many answers differ. The
    writers stay paused (``resume`` them)."""
    await writers.pause()
    async with Probe(srv) as c:
        found = await check(c, writers)
        live = await views(c, writers.apps())
    await asyncio.to_thread(srv.stop)
    await asyncio.to_thread(srv.run_cli, "projections", "rebuild")
    await asyncio.to_thread(srv.start)
    async with Probe(srv) as c:
        rebuilt = await views(c, writers.apps())
    differ = sum(a != b for a, b in zip(live, rebuilt, strict=False)) + abs(
        len(live) - len(rebuilt)
    )
    return found, differ


def emit_findings(run: Campaign, case: str, backend: str, found: Findings, differ: int) -> None:
    """The rows of a check (each target: none)."""
    note = f"of {found.acknowledged} acknowledged env changes, {found.events} events"
    lost = len(found.lost)
    run.emit(
        Row(
            case,
            backend,
            "acknowledged writes lost",
            lost,
            "",
            [(NONE, lost)],
            note=note,
            detail={"lost": found.lost[:20]},
        )
    )
    twice = len(found.applied_twice)
    run.emit(
        Row(
            case,
            backend,
            "request ids applied twice",
            twice,
            "",
            [(NONE, twice)],
            detail={"ids": found.applied_twice[:20]},
        )
    )
    dup = found.duplicate_positions
    run.emit(Row(case, backend, "duplicate or unordered positions", dup, "", [(NONE, dup)]))
    gone = len(found.promotions_lost)
    note = f"of {found.promotions} acknowledged"
    run.emit(
        Row(case, backend, "acknowledged promotions lost", gone, "", [(NONE, gone)], note=note)
    )
    run.emit(
        Row(case, backend, "views different from a rebuild", differ, "answers", [(NONE, differ)])
    )


class Probe:
    """A client of its own for the checks (``async with``)."""

    def __init__(self, srv: Ledgerd) -> None:
        self.client = Client(channel(srv.target, 1000))

    async def __aenter__(self) -> Client:
        await self.client.ready(30.0)
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.channel.close()
