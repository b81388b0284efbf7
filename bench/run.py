"""Deploy Ledger benchmark: raw ceilings, then every case on each backend (see README.md).

.venv/bin/python bench/run.py [--quick] [--backends sqlite,postgres] [--cases ...]
                              [--secs N] [--out bench/results/latest.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == HERE:  # run as a script: import as `bench.*`
    sys.path[0] = str(HERE.parent)

from bench import ceilings, procstat, report  # noqa: E402
from bench.cases import CASES, SQLITE_ONLY, Bed, Context, Sizes, failed_row  # noqa: E402
from bench.client import Client, channel, sign_in  # noqa: E402
from bench.report import Row  # noqa: E402
from bench.server import Ledgerd, Postgres  # noqa: E402

BACKENDS = ("sqlite", "postgres")
CEILINGS = (
    "echo-unary",
    "echo-stream",
    "echo-unary-uvloop",
    "es-save-sqlite",
    "es-save-postgres",
)
OPT_IN = ("deploy",)  # run only when named in --cases, once, after the backends


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short smoke run (~2 min)")
    p.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgres")
    p.add_argument(
        "--cases",
        default="ceilings," + ",".join(CASES),
        help=f"comma list of: ceilings,{','.join(CASES)}; opt-in: deploy (needs Docker)",
    )
    p.add_argument("--secs", type=float, default=None, help="seconds per timed load (10; quick 2)")
    p.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    p.add_argument("--keep", action="store_true", help="keep the ledgers' temp dirs")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=None,
        help="wait up to N s for other processes to go quiet before each load (20; quick 0)",
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample ledgerd with py-spy in every measured window; profiles go to DIR",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="LEDGER_X=V",
        help="a setting for the ledgerd under test, as an A/B switch (LEDGER_EVENT_LOOP=asyncio)",
    )
    args = p.parse_args(argv)
    settings = [item.partition("=") for item in args.set]
    if any(not key.startswith("LEDGER_") or not eq for key, eq, _ in settings):
        p.error("--set takes LEDGER_NAME=VALUE")
    args.settings = {key: value for key, _, value in settings}
    args.backends = [b for b in args.backends.split(",") if b]
    args.cases = [c for c in args.cases.split(",") if c]
    unknown = set(args.backends) - set(BACKENDS) | set(args.cases) - {"ceilings", *CASES, *OPT_IN}
    if unknown:
        p.error(f"unknown backend or case: {', '.join(sorted(unknown))}")
    args.secs = args.secs or (2.0 if args.quick else 10.0)
    if args.quiet_wait is None:
        args.quiet_wait = 0.0 if args.quick else 20.0
    return args


async def measure_ceilings(ctx: Context, backends: list[str], runs: int) -> None:
    """Bare grpcio echo (unary, 64 in flight; one server stream) and bare eventsourcing saves.

    Each ceiling is the median of ``runs`` runs (after waiting for a quiet machine).
    """

    async def median(
        name: str, run: Callable[[], Awaitable[dict[str, Any]]], pids: list[int]
    ) -> dict[str, Any]:
        results = []
        for _ in range(runs):
            if ctx.quiet_wait:
                await asyncio.to_thread(procstat.wait_quiet, 0.4, ctx.quiet_wait, pids)
            with procstat.CpuMeter(pids=pids) as meter:
                result = await run()
            results.append({**result, **meter.as_dict()})
        results.sort(key=lambda r: float(r["rate"]))
        chosen = results[len(results) // 2]
        ctx.ceilings[name] = float(chosen["rate"])
        chosen["runs"] = [round(float(r["rate"])) for r in results]
        return chosen

    def note(r: dict[str, Any]) -> str:
        text = f"median of {r['runs']}" if len(r["runs"]) > 1 else ""
        if "p50_ms" in r:
            text += f"; p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms"
        return text.strip("; ")

    with ceilings.EchoServer() as echo:
        assert echo.proc is not None
        pids = [echo.proc.pid]

        async def unary() -> dict[str, Any]:
            return (await ceilings.echo_unary(echo, 64, ctx.secs)).summary()

        async def stream() -> dict[str, Any]:
            return {"rate": await ceilings.echo_stream(echo, ctx.sizes.stream_messages)}

        r = await median("echo-unary", unary, pids)
        ctx.emit(
            Row(
                "ceiling",
                "grpcio",
                "bare aio echo, unary, 64 in flight",
                r["rate"],
                "calls/s",
                note=note(r),
                detail=r,
            )
        )
        r = await median("echo-stream", stream, pids)
        figure = f"bare aio server stream, {ctx.sizes.stream_messages:,} messages"
        ctx.emit(Row("ceiling", "grpcio", figure, r["rate"], "msg/s", note=note(r), detail=r))

    # For reference only (ratios use the bare server above): ledgerd serves on uvloop.
    with ceilings.EchoServer(loop="uvloop") as echo:
        assert echo.proc is not None
        pids = [echo.proc.pid]

        async def unary_uvloop() -> dict[str, Any]:
            return (await ceilings.echo_unary(echo, 64, ctx.secs)).summary()

        r = await median("echo-unary-uvloop", unary_uvloop, pids)
        figure = "bare aio echo on uvloop (reference), unary, 64 in flight"
        ctx.emit(Row("ceiling", "grpcio", figure, r["rate"], "calls/s", note=note(r), detail=r))

    for backend in backends:
        tmp = Path(tempfile.mkdtemp(prefix="bench-es-"))

        async def saves(backend: str = backend, tmp: Path = tmp) -> dict[str, Any]:
            if backend == "sqlite":
                env = ceilings.sqlite_env(tmp / f"ceiling-{time.monotonic_ns()}.db")
            else:
                assert ctx.postgres is not None
                env = ceilings.postgres_env(ctx.postgres.database("es_ceiling"))
            return await asyncio.to_thread(ceilings.es_saves, env, ctx.secs)

        pg = ctx.postgres.pids() if ctx.postgres and backend == "postgres" else []
        try:
            r = await median(f"es-save-{backend}", saves, pg)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        figure = "bare eventsourcing single-event saves"
        ctx.emit(Row("ceiling", backend, figure, r["rate"], "tx/s", note=note(r), detail=r))


async def run_backend(
    ctx: Context, backend: str, cases: list[str], out: Path, keep: bool, settings: dict[str, str]
) -> dict[str, object]:
    """Start one ledgerd on ``backend`` (with ``settings`` on top of its defaults) and run
    the cases against it, in order."""
    url = ctx.postgres.database("ledger_bench") if backend == "postgres" and ctx.postgres else ""
    srv = Ledgerd(database_url=url, extra_env=settings)
    started = await asyncio.to_thread(srv.start)
    sign_in(srv.token())
    print(f"[{backend}] ledgerd pid {srv.pid} on {srv.target}, up in {started:.2f} s", flush=True)
    try:
        async with channel(srv.target) as ch:
            client = Client(ch)
            await client.ready()
            bed = Bed(ctx, srv, backend, client)
            for name in cases:
                if name in SQLITE_ONLY and backend != "sqlite":
                    continue
                t0 = time.perf_counter()
                try:
                    await CASES[name](bed)
                except Exception as error:
                    ctx.emit(failed_row(name, backend, error))
                    if srv.proc is None or srv.proc.poll() is not None:
                        print(f"[{backend}] ledgerd died:\n{srv.tail()}", flush=True)
                        await asyncio.to_thread(srv.start)
                print(f"[{backend}] {name} took {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        code = srv.stop()
    problems = srv.problems()
    log = out.with_name(f"{out.stem}-ledgerd-{backend}.log")
    shutil.copy(srv.log, log)
    if problems:
        print(f"[{backend}] ledgerd log ({log}) has:\n  " + "\n  ".join(problems[:15]))
    print(f"[{backend}] ledgerd exit code {code} after SIGTERM", flush=True)
    if not keep:
        shutil.rmtree(srv.workdir, ignore_errors=True)
    return {"log": str(log), "exit_code": code, "starts": srv.starts, "problems": problems}


async def main_async(args: argparse.Namespace) -> int:
    ctx = Context(
        secs=args.secs,
        sizes=Sizes.quick() if args.quick else Sizes(),
        quiet_wait=args.quiet_wait,
        profile_dir=args.profile,
    )
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    servers: dict[str, object] = {}
    if "postgres" in args.backends:
        ctx.postgres = await asyncio.to_thread(Postgres().start)
    try:
        if "ceilings" in args.cases:
            await measure_ceilings(ctx, args.backends, 1 if args.quick else 3)
        cases = [c for c in args.cases if c != "ceilings" and c not in OPT_IN]
        for backend in args.backends if cases else []:
            servers[backend] = await run_backend(ctx, backend, cases, out, args.keep, args.settings)
        if "deploy" in args.cases:
            await asyncio.to_thread(run_deploy, ctx, args.quick, out)
    finally:
        if ctx.postgres is not None:
            ctx.postgres.stop()
    elapsed = time.perf_counter() - t0
    table = report.table(ctx.rows)
    print(f"\n{table}\n\nwhole run: {elapsed / 60:.1f} min", flush=True)
    meta = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(time.time() - elapsed)),
        "elapsed_s": round(elapsed, 1),
        "quick": args.quick,
        "secs": args.secs,
        "python": platform.python_version(),
        "grpcio": version("grpcio"),
        "eventsourcing": version("eventsourcing"),
        "cpus": os.cpu_count(),
    }
    result = {
        "meta": meta,
        "ceilings": ctx.ceilings,
        "rows": [r.as_dict() for r in ctx.rows],
        "servers": servers,
    }
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    out.with_suffix(".md").write_text(table + "\n")
    print(f"results: {out} and {out.with_suffix('.md')}")
    return 1 if any(r.passed is False for r in ctx.rows) else 0


def run_deploy(ctx: Context, quick: bool, out: Path) -> None:
    """Our Docker rollout against Docker Swarm's (``bench/deploy.py``; its own ledgerd with
    the Docker runtime on SQLite). The full result goes to ``<out>-deploy.json``."""
    from bench import deploy  # the Docker SDK is needed by this case only

    options = deploy.Options(
        rounds=3 if quick else 5,
        quiet_wait=min(ctx.quiet_wait, 5.0),
        log_copy=out.with_name(f"{out.stem}-ledgerd-deploy.log"),
        say=lambda line: print(f"[deploy] {line}", flush=True),
    )
    result = deploy.run(options)
    for row in deploy.rows(result):
        ctx.emit(row)
    out.with_name(f"{out.stem}-deploy.json").write_text(json.dumps(result, indent=1) + "\n")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM ends like Ctrl-C, so every subprocess we started is stopped by its pid.
    signal.signal(signal.SIGTERM, _interrupt)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
