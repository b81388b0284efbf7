"""The benchmark cases. Each runs against one ``ledgerd`` and emits report rows."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc

from bench import procstat, profile
from bench.client import Client, channel, ts_seconds
from bench.load import Busy, LoadResult, closed_loop, percentile, sequential
from bench.report import Row, Target, at_least, at_most
from bench.server import ROOT, Ledgerd, Postgres
from bench.watch import WATCH_TOKEN

T = TypeVar("T")
WRITERS = 8
READ_IN_FLIGHT = 64
# Targets are ratios to ceilings measured in the same run (see README.md, "Targets").
WRITE_SHARE = 0.5  # of the combined ceiling 1 / (1/echo + 1/save) of the backend
P99_WRITE_MS = {"sqlite": 50.0, "postgres": 100.0}
READ_SHARE = {"GetApp": 0.7, "ListReleases": 0.5}  # of echo-unary
LAG_P99_MS = {"sqlite": 50.0, "postgres": 100.0}
WATCH_WRITERS_SHARE = 0.7  # writers' rate with the streams open / without
WATCH_LAG_P99_MS = 250.0
BIG_RATIO = 1.5
REBUILD_TARGET = 20_000.0
RSS_TARGET_MB = 150.0
STREAMS_PER_CHANNEL = 100
FOREIGN_LIMIT = 0.5  # cores used by other processes before a figure is measured again


@dataclass
class Sizes:
    """How big the data sets are (smaller for --quick)."""

    big_releases: int = 10_000
    events: int = 100_000
    streams: int = 500
    watch_procs: int = 2
    seq_calls: int = 200
    seq_promotes: int = 50
    stream_messages: int = 100_000

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            big_releases=1_000,
            events=10_000,
            streams=100,
            watch_procs=1,
            seq_calls=40,
            seq_promotes=15,
            stream_messages=20_000,
        )


@dataclass
class Context:
    secs: float
    sizes: Sizes
    quiet_wait: float
    ceilings: dict[str, float] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    postgres: Postgres | None = None
    serial: itertools.count[int] = field(default_factory=itertools.count)
    profile_dir: Path | None = None  # --profile: each measured window sampled by py-spy

    def profiling(self, pid: int, label: str) -> contextlib.AbstractContextManager[Path | None]:
        """Sample ``pid`` during the block when ``--profile`` was given (else nothing)."""
        if self.profile_dir is None:
            return contextlib.nullcontext()
        return profile.sampling(pid, self.profile_dir / f"{label}-{next(self.serial)}.txt")

    def emit(self, row: Row) -> Row:
        self.rows.append(row)
        print(row.line(), flush=True)
        return row

    def name(self, prefix: str) -> str:
        """A fresh app name (names are never reused within one ledger)."""
        return f"{prefix}-{next(self.serial)}"

    def ratio(self, value: float, ceiling: str) -> float | None:
        base = self.ceiling(ceiling)
        if not base or math.isnan(value):
            return None
        return value / base

    def ceiling(self, name: str) -> float | None:
        """A measured ceiling; ``combined-BACKEND`` is 1 / (1/echo-unary + 1/es-save-BACKEND):
        what a command could reach if it cost one bare gRPC call plus one bare save."""
        if name.startswith("combined-"):
            echo = self.ceilings.get("echo-unary")
            save = self.ceilings.get(f"es-save-{name.removeprefix('combined-')}")
            return 1 / (1 / echo + 1 / save) if echo and save else None
        return self.ceilings.get(name)

    def share_of(self, share: float, ceiling: str, value: float) -> list[tuple[Target, float]]:
        """The target ``value >= share x ceiling`` (none when the ceiling was not measured)."""
        base = self.ceiling(ceiling)
        if not base:
            return []
        return [(at_least(share * base, f"≥ {share}x {ceiling} ({share * base:.0f})"), value)]


@dataclass
class Bed:
    """What a case runs against: the server, its backend name, and a client."""

    ctx: Context
    srv: Ledgerd
    backend: str
    client: Client

    def server_pids(self) -> list[int]:
        pids = [self.srv.pid]
        if self.backend == "postgres" and self.ctx.postgres is not None:
            pids += self.ctx.postgres.pids()
        return pids

    async def measure(
        self,
        run: Callable[[], Awaitable[T]],
        client_pids: list[int] | None = None,
        retry: bool = True,
    ) -> tuple[T, dict[str, Any]]:
        """Run one timed measurement, after waiting for a quiet machine; CPU use attached
        (and, with ``--profile``, where the server's CPU went: ``bench/profile.py``).

        With ``quiet_wait`` set and ``retry``, a run during which other processes used
        more than ``FOREIGN_LIMIT`` cores is run again (at most twice more); the least
        disturbed run is kept.
        """
        best: tuple[T, dict[str, Any]] | None = None
        attempts = 3 if retry and self.ctx.quiet_wait else 1
        for attempt in range(1, attempts + 1):
            if self.ctx.quiet_wait:
                await asyncio.to_thread(
                    procstat.wait_quiet, 0.4, self.ctx.quiet_wait, self.server_pids()
                )
            meter = procstat.CpuMeter(pids=self.server_pids(), client_pids=client_pids or [])
            with self.ctx.profiling(self.srv.pid, self.backend) as sampled, meter:
                result = await run()
            cpu: dict[str, Any] = dict(meter.as_dict())
            if sampled is not None:
                ops = getattr(result, "ops", 0)
                cpu["profile"] = profile.summary(sampled, ops, meter.server_seconds)
            cpu["server_rss_mb"] = round(self.srv.rss_kb() / 1024, 1)
            if best is None or cpu["foreign_cores"] < best[1]["foreign_cores"]:
                best = (result, cpu)
            if cpu["foreign_cores"] <= FOREIGN_LIMIT or attempt == attempts:
                break
            print(f"  (other processes used {cpu['foreign_cores']} cores: measuring again)")
        assert best is not None
        return best


def busy_on_inflight(error: grpc.aio.AioRpcError) -> None:
    """A promotion still in flight is not a failure of the write path: retry it."""
    if error.code() == grpc.StatusCode.FAILED_PRECONDITION and "in flight" in (
        error.details() or ""
    ):
        raise Busy from error
    raise error


def lat_note(result: LoadResult) -> str:
    note = f"p50 {result.ms(0.5):.1f} ms, p99 {result.ms(0.99):.1f} ms"
    errors = sum(result.errors.values())
    if errors:
        note += f", {errors} errors {dict(result.errors)}"
    return note


async def deployed_apps(client: Client, names: list[str]) -> None:
    await asyncio.gather(*(client.deployed_app(n) for n in names))


# ---------------------------------------------------------------- write path


async def case_write(bed: Bed) -> None:
    """UpdateEnv (own apps, shared app) and PromoteRelease (own apps), 8 clients."""
    ctx, c = bed.ctx, bed.client
    own = [ctx.name("w") for _ in range(WRITERS)]
    shared = ctx.name("ws")
    await deployed_apps(c, [*own, shared])
    seq = itertools.count()

    async def env_own(i: int) -> None:
        await c.update_env(own[i], {f"K{i}": str(next(seq))})

    async def env_shared(i: int) -> None:
        await c.update_env(shared, {f"K{i}": str(next(seq))})

    async def promote_own(i: int) -> None:
        try:
            await c.promote(own[i])
        except grpc.aio.AioRpcError as error:
            busy_on_inflight(error)

    ceiling = f"combined-{bed.backend}"
    p99_ms = P99_WRITE_MS[bed.backend]
    for figure, op in (
        ("UpdateEnv, 8 clients, own app each", env_own),
        ("UpdateEnv, 8 clients, one shared app", env_shared),
        ("PromoteRelease, 8 clients, own app each", promote_own),
    ):
        result, cpu = await bed.measure(functools.partial(closed_loop, op, WRITERS, ctx.secs))
        note = lat_note(result)
        if result.busy:
            note += f", {result.busy} busy retries"
        ctx.emit(
            Row(
                "write",
                bed.backend,
                figure,
                result.rate,
                "cmd/s",
                targets=[
                    *ctx.share_of(WRITE_SHARE, ceiling, result.rate),
                    (at_most(p99_ms, f"p99 < {p99_ms:.0f} ms"), result.ms(0.99)),
                ],
                ceiling=ceiling,
                ratio=ctx.ratio(result.rate, ceiling),
                note=note,
                detail={**result.summary(), **cpu},
            )
        )
    for name in own:  # leave no promotion running into the next case
        await c.settle(name)


# ---------------------------------------------------------------- reads


async def case_read(bed: Bed) -> None:
    """GetApp and ListReleases (page of 50), 64 calls in flight."""
    ctx, c = bed.ctx, bed.client
    app = ctx.name("r")
    await c.deployed_app(app)
    for n in range(60):
        await c.update_env(app, {"N": str(n)})

    async def get_app(_: int) -> None:
        await c.get_app(app)

    async def list_releases(_: int) -> None:
        page = await c.list_releases(app, 50)
        if len(page.releases) != 50:
            raise RuntimeError(f"ListReleases returned {len(page.releases)} releases")

    for figure, op in (
        (f"GetApp, {READ_IN_FLIGHT} in flight", get_app),
        (f"ListReleases page of 50, {READ_IN_FLIGHT} in flight", list_releases),
    ):
        share = READ_SHARE[figure.split(",")[0].split(" ")[0]]
        result, cpu = await bed.measure(
            functools.partial(closed_loop, op, READ_IN_FLIGHT, ctx.secs)
        )
        ctx.emit(
            Row(
                "read",
                bed.backend,
                figure,
                result.rate,
                "calls/s",
                targets=ctx.share_of(share, "echo-unary", result.rate),
                ceiling="echo-unary",
                ratio=ctx.ratio(result.rate, "echo-unary"),
                note=lat_note(result),
                detail={**result.summary(), **cpu},
            )
        )


# ---------------------------------------------------------------- projection lag


async def case_lag(bed: Bed) -> None:
    """Command sent → GetApp (another channel) shows its env_version, under 8 writers."""
    ctx, c = bed.ctx, bed.client
    writers = [ctx.name("lw") for _ in range(WRITERS)]
    probe = ctx.name("probe")
    await deployed_apps(c, [*writers, probe])
    seq = itertools.count()
    async with channel(bed.srv.target, tag=1) as wch, channel(bed.srv.target, tag=2) as rch:
        w, r = Client(wch), Client(rch)

        async def write(i: int) -> None:
            await w.update_env(writers[i], {f"K{i}": str(next(seq))})

        lags: list[int] = []
        commands: list[int] = []
        stale_reads: list[int] = []
        appended: list[float] = []  # release created_at (≈ event appended) → visible, s

        async def probing(stop: float) -> None:
            clock = time.perf_counter_ns
            n = 0
            while time.perf_counter() < stop:
                n += 1
                t0 = clock()
                reply = await c.update_env(probe, {"PROBE": str(n)})
                t1 = clock()
                polls = 0
                while (await r.get_app(probe)).env_version < reply.env_version:
                    polls += 1
                if reply.HasField("release"):
                    appended.append(time.time() - ts_seconds(reply.release.created_at))
                lags.append(clock() - t0)
                commands.append(t1 - t0)
                stale_reads.append(polls)

        async def run() -> LoadResult:
            for samples in (lags, commands, stale_reads, appended):
                samples.clear()
            writing = asyncio.create_task(closed_loop(write, WRITERS, ctx.secs))
            await asyncio.sleep(0.5)  # the writers' warm-up
            await probing(time.perf_counter() + ctx.secs)
            return await writing

        result, cpu = await bed.measure(run)
    lags.sort()
    commands.sort()
    appended.sort()
    lag_p99 = percentile(lags, 0.99) / 1e6
    lag_target = LAG_P99_MS[bed.backend]
    stale = sum(1 for p in stale_reads if p)
    ctx.emit(
        Row(
            "lag",
            bed.backend,
            "projection lag p99 (UpdateEnv sent → GetApp shows it) under 8 writers",
            lag_p99,
            "ms",
            targets=[(at_most(lag_target, f"p99 < {lag_target:.0f} ms"), lag_p99)],
            note=(
                f"p50 {percentile(lags, 0.5) / 1e6:.1f} ms; probe command p50 "
                f"{percentile(commands, 0.5) / 1e6:.1f} / "
                f"p99 {percentile(commands, 0.99) / 1e6:.1f} ms; release created_at → visible "
                f"p50 {percentile(appended, 0.5) * 1e3:.1f} / p99 "
                f"{percentile(appended, 0.99) * 1e3:.1f} ms; {stale}/{len(lags)} stale first "
                f"reads; writers {result.rate:.0f} cmd/s"
            ),
            detail={
                "probes": len(lags),
                "lag_p50_ms": percentile(lags, 0.5) / 1e6,
                "lag_p99_ms": lag_p99,
                "command_p50_ms": percentile(commands, 0.5) / 1e6,
                "command_p99_ms": percentile(commands, 0.99) / 1e6,
                "stale_first_reads": stale,
                "appended_to_visible_p50_ms": percentile(appended, 0.5) * 1e3,
                "appended_to_visible_p99_ms": percentile(appended, 0.99) * 1e3,
                "writers": result.summary(),
                **cpu,
            },
        )
    )


# ---------------------------------------------------------------- a big app


async def seed_builds(c: Client, app: str, count: int, in_flight: int = 16) -> dict[str, Any]:
    """``count`` CreateBuild calls on ``app`` (each makes a release), ``in_flight`` at a time."""
    done = 0
    errors: dict[str, int] = {}

    async def worker() -> None:
        nonlocal done
        while done < count:
            done += 1
            try:
                await c.create_build(app, image=f"registry.local/{app}:{done}")
            except grpc.aio.AioRpcError as error:
                done -= 1
                errors[error.code().name] = errors.get(error.code().name, 0) + 1
                if sum(errors.values()) > count:
                    raise
                await asyncio.sleep(0.01)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    secs = time.perf_counter() - t0
    return {"secs": secs, "rate": count / secs, "errors": errors}


async def case_bigapp(bed: Bed) -> None:
    """An app with 10,000 releases against a new app: commands and list pages."""
    ctx, c, backend = bed.ctx, bed.client, bed.backend
    n = ctx.sizes.big_releases
    big, new = ctx.name("big"), ctx.name("new")
    await deployed_apps(c, [big, new])
    seeding = await seed_builds(c, big, n - 1)
    info = await c.get_app(big)
    ctx.emit(
        Row(
            "bigapp",
            backend,
            f"seeding {n:,} releases (CreateBuild --image, 16 in flight)",
            seeding["secs"],
            "s",
            note=f"{seeding['rate']:.0f} builds/s, app has {info.release_count:,} releases"
            + (f", errors {seeding['errors']}" if seeding["errors"] else ""),
            detail=seeding,
        )
    )
    seq = itertools.count()

    def env_op(app: str) -> Callable[[int], Awaitable[Any]]:
        async def op(_: int) -> None:
            await c.update_env(app, {"SEQ": str(next(seq))})

        return op

    async def compare(
        figure: str, ops: dict[str, Callable[[int], Awaitable[Any]]], base: str, count: int
    ) -> None:
        """Interleave the ops (one call each per round); compare medians with ``base``."""
        lats: dict[str, list[int]] = {k: [] for k in ops}
        for op in ops.values():
            for _ in range(3):
                await op(0)
        for _ in range(count):
            for key, op in ops.items():
                lats[key] += await sequential(op, 1, warmup=0)
        medians = {k: percentile(sorted(v), 0.5) / 1e6 for k, v in lats.items()}
        p99s = {k: percentile(sorted(v), 0.99) / 1e6 for k, v in lats.items()}
        for key in ops:
            if key == base:
                continue
            ratio = medians[key] / medians[base]
            ctx.emit(
                Row(
                    "bigapp",
                    backend,
                    f"{figure}: {key} vs {base} (median time ratio)",
                    ratio,
                    "x",
                    targets=[(at_most(BIG_RATIO, f"≤ {BIG_RATIO}x"), ratio)],
                    note=(
                        f"{medians[key]:.2f} vs {medians[base]:.2f} ms; p99 "
                        f"{p99s[key]:.1f} vs {p99s[base]:.1f} ms"
                    ),
                    detail={"median_ms": medians, "p99_ms": p99s, "calls": count},
                )
            )

    await compare(
        "UpdateEnv (no promote)",
        {"new app": env_op(new), f"{n:,}-release app": env_op(big)},
        "new app",
        ctx.sizes.seq_calls,
    )

    def promote_op(app: str) -> Callable[[int], Awaitable[Any]]:
        async def op(_: int) -> None:
            await c.settle(app)
            t0 = time.perf_counter_ns()
            await c.promote(app)
            promote_lats[app].append(time.perf_counter_ns() - t0)

        return op

    promote_lats: dict[str, list[int]] = {big: [], new: []}
    for _ in range(ctx.sizes.seq_promotes):  # settle() is not timed: time the command only
        await promote_op(new)(0)
        await promote_op(big)(0)
    await c.settle(big)
    await c.settle(new)
    med = {k: percentile(sorted(v), 0.5) / 1e6 for k, v in promote_lats.items()}
    ratio = med[big] / med[new]
    ctx.emit(
        Row(
            "bigapp",
            backend,
            f"PromoteRelease: {n:,}-release app vs new app (median time ratio)",
            ratio,
            "x",
            targets=[(at_most(BIG_RATIO, f"≤ {BIG_RATIO}x"), ratio)],
            note=f"{med[big]:.2f} vs {med[new]:.2f} ms",
            detail={"median_ms": med, "calls": ctx.sizes.seq_promotes},
        )
    )

    # ListReleases: walk every page of the big app once, then compare single pages.
    tokens: list[str] = []
    token = ""
    t0 = time.perf_counter()
    listed = 0
    while True:
        page = await c.list_releases(big, 50, token)
        listed += len(page.releases)
        if not page.next_page_token:
            break
        token = page.next_page_token
        tokens.append(token)
    walk = time.perf_counter() - t0
    if not tokens:
        raise RuntimeError("ListReleases of the big app returned a single page")
    deep, last = tokens[len(tokens) // 2], tokens[-1]

    def list_op(app: str, tok: str = "") -> Callable[[int], Awaitable[Any]]:
        async def op(_: int) -> None:
            await c.list_releases(app, 50, tok)

        return op

    # First pages are answered from memory, later pages from the views: compare each with
    # the new app's page read the same way (its second page: it gets 100 releases at least).
    first = await c.list_releases(new, 50)
    if not first.next_page_token:
        await seed_builds(c, new, 100 - len(first.releases))
        first = await c.list_releases(new, 50)
    await compare(
        "ListReleases page of 50",
        {"new app first page": list_op(new), "big app first page": list_op(big)},
        "new app first page",
        ctx.sizes.seq_calls,
    )
    await compare(
        "ListReleases page of 50",
        {
            "new app page 2": list_op(new, first.next_page_token),
            f"big app page {len(tokens) // 2 + 1} (deep)": list_op(big, deep),
            f"big app last page ({len(tokens) + 1})": list_op(big, last),
        },
        "new app page 2",
        ctx.sizes.seq_calls,
    )
    ctx.emit(
        Row(
            "bigapp",
            backend,
            f"ListReleases: walk all {listed:,} releases, pages of 50",
            walk,
            "s",
            note=f"{listed / walk:,.0f} releases/s",
        )
    )


# ---------------------------------------------------------------- watchers


async def case_watch(bed: Bed) -> None:
    """Many WatchEvents streams (other processes) while 8 writers run; all events delivered?"""
    ctx, c, backend = bed.ctx, bed.client, bed.backend
    streams, procs = ctx.sizes.streams, ctx.sizes.watch_procs
    writers = [ctx.name("ww") for _ in range(WRITERS)]
    await deployed_apps(c, writers)
    start = await c.head(writers[0])
    per_proc = [streams // procs + (1 if i < streams % procs else 0) for i in range(procs)]
    watchers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.watch",
                bed.srv.target,
                str(n),
                str(max(1, math.ceil(n / STREAMS_PER_CHANNEL))),
                str(start),
            ],
            cwd=ROOT,
            env={**os.environ, WATCH_TOKEN: bed.srv.token()},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in per_proc
    ]
    try:
        ready = []
        rss_before = bed.srv.rss_kb()
        for proc in watchers:
            assert proc.stdout is not None
            ready.append((await asyncio.to_thread(proc.stdout.readline)).split())
        opened = sum(int(r[1]) for r in ready if len(r) > 1)
        rss_open = bed.srv.rss_kb()
        seq = itertools.count()

        async def write(i: int) -> None:
            await c.update_env(writers[i], {f"K{i}": str(next(seq))})

        result, cpu = await bed.measure(
            lambda: closed_loop(write, WRITERS, ctx.secs), [p.pid for p in watchers], retry=False
        )
        head = await c.head(writers[0])
        expected = await c.positions(start, head)
        t_stop = time.perf_counter()
        for proc in watchers:
            assert proc.stdin is not None
            proc.stdin.write(f"stop {head} {len(expected)} {sum(expected)}\n")
            proc.stdin.flush()
        reports = []
        for proc in watchers:
            out, _ = await asyncio.to_thread(proc.communicate, timeout=180)
            reports.append(json.loads(out.strip().splitlines()[-1]))
        drain = time.perf_counter() - t_stop
    finally:
        for proc in watchers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    rss_after = bed.srv.rss_kb()
    complete = sum(r["complete"] for r in reports)
    ended = sum(r["ended_early_count"] for r in reports)
    lags = sorted(x for r in reports for x in r["lag_sample_s"])
    received = sum(r["events_received"] for r in reports)
    window = result.secs + drain
    detail = {
        "streams": streams,
        "first_response": opened,
        "events_expected_per_stream": len(expected),
        "events_received_total": received,
        "responses_total": sum(r["responses"] for r in reports),
        "ended_early": [e for r in reports for e in r["ended_early"]],
        "incomplete": [e for r in reports for e in r["incomplete"]],
        "out_of_order": sum(r["out_of_order"] for r in reports),
        "drain_secs": round(drain, 2),
        "lag_p50_ms": percentile(lags, 0.5) * 1e3,
        "lag_p99_ms": percentile(lags, 0.99) * 1e3,
        "lag_max_ms": percentile(lags, 1.0) * 1e3,
        "server_rss_mb": {
            "before": rss_before / 1024,
            "streams_open": rss_open / 1024,
            "after_closed": rss_after / 1024,
        },
        "writers": result.summary(),
        **cpu,
    }
    ctx.emit(
        Row(
            "watch",
            backend,
            f"{streams} WatchEvents streams got every event (count by position)",
            complete,
            "streams",
            targets=[
                (at_least(streams, f"all {streams}"), complete),
                (at_most(0, "none ended early"), ended),
            ],
            note=(
                f"{len(expected):,} events each, {ended} ended early, "
                f"writers {result.rate:.0f} cmd/s (p99 {result.ms(0.99):.0f} ms), "
                f"drained {drain:.1f} s after load"
            ),
            detail=detail,
        )
    )
    ctx.emit(
        Row(
            "watch",
            backend,
            "delivery lag (event time → received), per response",
            detail["lag_p99_ms"],
            "ms p99",
            targets=[
                (
                    at_most(WATCH_LAG_P99_MS, f"p99 < {WATCH_LAG_P99_MS:.0f} ms"),
                    detail["lag_p99_ms"],
                )
            ],
            note=f"p50 {detail['lag_p50_ms']:.0f} ms, max {detail['lag_max_ms']:.0f} ms",
        )
    )
    base = next(
        (
            r.value
            for r in ctx.rows
            if (r.case, r.backend) == ("write", backend) and "own" in r.figure
        ),
        float("nan"),
    )
    ctx.emit(
        Row(
            "watch",
            backend,
            f"writers' rate with {streams} streams open vs without (write case, own apps)",
            result.rate / base,
            "x",
            targets=[
                (
                    at_least(WATCH_WRITERS_SHARE, f"≥ {WATCH_WRITERS_SHARE}x"),
                    result.rate / base,
                )
            ],
            note=f"{result.rate:.0f} vs {base:.0f} cmd/s",
        )
    )
    messages = detail["responses_total"] / window
    ctx.emit(
        Row(
            "watch",
            backend,
            "events delivered to all streams",
            received / window,
            "events/s",
            ceiling="echo-stream",
            ratio=ctx.ratio(messages, "echo-stream"),
            note=f"{received:,} events in {window:.1f} s, {messages:,.0f} responses/s "
            f"(the ratio is on responses); server RSS {rss_open / 1024:.0f} MB with streams open",
        )
    )


# ---------------------------------------------------------------- replay and memory


async def filled(bed: Bed) -> int:
    """Make the log hold ``sizes.events`` events (CreateBuild on 16 apps); returns the head.

    Done once per ledger; the time it took is reported as a row.
    """
    ctx, c, in_flight = bed.ctx, bed.client, 16
    existing = await c.app_names(1)
    if existing and (head := await c.head(existing[0])) >= ctx.sizes.events:
        return head
    apps = [ctx.name("fill") for _ in range(in_flight)]
    await deployed_apps(c, apps)
    head0 = head = await c.head(apps[0])
    t0 = time.perf_counter()
    calls = 0

    async def worker(app: str, k: int) -> None:
        for j in range(k):
            await c.create_build(app, image=f"registry.local/{app}:{j}")

    while head < ctx.sizes.events:
        per_call = max(1.0, (head - head0) / calls) if calls else 5.0
        batch = max(1, min(2000, int((ctx.sizes.events - head) / per_call / in_flight) + 1))
        await asyncio.gather(*(worker(a, batch) for a in apps))
        calls += batch * in_flight
        head = await c.head(apps[0])
    secs = time.perf_counter() - t0
    ctx.emit(
        Row(
            "replay",
            bed.backend,
            f"fill the log to {ctx.sizes.events:,} events (CreateBuild, 16 in flight)",
            secs,
            "s",
            note=f"{head - head0:,} events added by {calls:,} calls; log holds {head:,}",
        )
    )
    return head


def parse_rebuild(output: str) -> dict[str, float]:
    """Numbers ``ledgerd projections rebuild`` printed: events and events/s, if any."""
    found: dict[str, float] = {}
    rate = re.search(r"([\d,]+(?:\.\d+)?)\s*(?:events?/s|ev/s)", output)
    if rate:
        found["rate"] = float(rate.group(1).replace(",", ""))
    count = re.search(r"([\d,]+)\s+events?\b(?!/)", output)
    if count:
        found["events"] = float(count.group(1).replace(",", ""))
    return found


async def case_replay(bed: Bed) -> None:
    """``ledgerd projections rebuild`` (server stopped) on a log of 100,000 events."""
    ctx, srv = bed.ctx, bed.srv
    events = await filled(bed)
    srv.stop()
    if ctx.quiet_wait:  # as before every timed load: the filling's writes settle first
        await asyncio.to_thread(procstat.wait_quiet, 0.4, ctx.quiet_wait, [])
    try:
        secs, output = await asyncio.to_thread(srv.run_cli, "projections", "rebuild")
    finally:
        await asyncio.to_thread(srv.start)
    parsed = parse_rebuild(output)
    wall_rate = events / secs
    rate = parsed.get("rate", wall_rate)
    ctx.emit(
        Row(
            "replay",
            bed.backend,
            f"`ledgerd projections rebuild` of {events:,} events",
            rate,
            "events/s",
            targets=[(at_least(REBUILD_TARGET, f"≥ {REBUILD_TARGET:,.0f}/s"), rate)],
            note=f"{secs:.1f} s wall incl. start-up = {wall_rate:,.0f}/s"
            + ("; rate as printed by ledgerd" if "rate" in parsed else ""),
            detail={"wall_secs": secs, "parsed": parsed, "output": output[-2000:]},
        )
    )


async def case_memory(bed: Bed) -> None:
    """VmRSS of ledgerd with 100,000 events stored: after start-up and after a read load."""
    ctx, srv = bed.ctx, bed.srv
    events = await filled(bed)
    ctx.emit(
        Row(
            "memory",
            bed.backend,
            "ledgerd VmRSS after every case so far (before restart)",
            srv.rss_kb() / 1024,
            "MB",
            note=f"VmHWM {srv.hwm_kb() / 1024:.0f} MB, {srv.threads()} threads",
        )
    )
    await asyncio.to_thread(srv.restart)
    await asyncio.sleep(2.0)  # let start-up work (catch-up, caches) settle
    rss = {"after start-up": srv.rss_kb() / 1024}
    hwm_start = srv.hwm_kb() / 1024
    async with channel(srv.target, tag=3) as ch:
        r = Client(ch)
        await r.ready()
        apps = await r.app_names(200)
        counter = itertools.count()

        async def read(i: int) -> None:
            n = next(counter)
            app = apps[n % len(apps)]
            kind = n % 3
            if kind == 0:
                await r.get_app(app)
            elif kind == 1:
                await r.list_releases(app, 50)
            else:
                await r.list_events(after=(n * 7919) % max(1, events - 100), page_size=100)

        result, _ = await bed.measure(lambda: closed_loop(read, 16, ctx.secs))
    rss["after a read load"] = srv.rss_kb() / 1024
    notes = {
        "after start-up": f"VmHWM {hwm_start:.0f} MB",
        "after a read load": f"GetApp/ListReleases/ListEvents over {len(apps)} apps, "
        f"{result.rate:.0f} calls/s; VmHWM {srv.hwm_kb() / 1024:.0f} MB",
    }
    for label, value in rss.items():
        ctx.emit(
            Row(
                "memory",
                bed.backend,
                f"ledgerd VmRSS {label}, {events:,} events stored",
                value,
                "MB",
                targets=[(at_most(RSS_TARGET_MB, f"< {RSS_TARGET_MB:.0f} MB"), value)],
                note=notes[label],
                detail={"read_load": result.summary()} if "read" in label else {},
            )
        )


CASES: dict[str, Callable[[Bed], Awaitable[None]]] = {
    "write": case_write,
    "read": case_read,
    "lag": case_lag,
    "bigapp": case_bigapp,
    "watch": case_watch,
    "replay": case_replay,
    "memory": case_memory,
}
SQLITE_ONLY = {"replay", "memory"}


def failed_row(case: str, backend: str, error: BaseException) -> Row:
    """A case that raised: reported as a failed figure, the run goes on."""
    return Row(
        case,
        backend,
        "case failed",
        float("nan"),
        "",
        targets=[(at_least(0, "completes"), float("nan"))],
        note=f"{type(error).__name__}: {error}"[:300].replace("\n", " "),
    )
