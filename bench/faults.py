"""Deploy Ledger fault campaign: what survives a kill -9, PostgreSQL going down, a full disk
and a restarted Docker engine, measured (see README.md, "Faults"). Run by hand; long.

.venv/bin/python bench/faults.py [--quick] [--backends sqlite,postgres]
                                 [--scenarios kill,outage,disk,docker] [--kills N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == HERE:  # run as a script: import as `bench.*`
    sys.path[0] = str(HERE.parent)

from bench import report  # noqa: E402
from bench.client import sign_in  # noqa: E402
from bench.faultcheck import Findings, emit_findings, survived  # noqa: E402
from bench.faultload import Writers  # noqa: E402
from bench.load import percentile  # noqa: E402
from bench.report import Row, at_most  # noqa: E402
from bench.server import Ledgerd, Postgres  # noqa: E402

BACKENDS = ("sqlite", "postgres")
SCENARIOS = ("kill", "outage", "disk", "docker")


class Campaign:
    """The rows measured so far, printed one line each as they come."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: list[Row] = []
        self.rng = random.Random(args.seed)
        self.postgres: Postgres | None = None
        self.servers: list[tuple[str, Ledgerd]] = []

    def emit(self, row: Row) -> None:
        self.rows.append(row)
        print(row.line(), flush=True)

    def server(self, backend: str, hint: str, **options: Any) -> Ledgerd:
        assert backend == "sqlite" or self.postgres is not None
        url = self.postgres.database(hint) if self.postgres and backend == "postgres" else ""
        srv = Ledgerd(database_url=url, **options)
        self.servers.append((f"{hint}-{backend}", srv))
        return srv

    def clean_up(self) -> None:
        """Stop every ledgerd; keep its log beside the results; remove its temp dir."""
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        for name, srv in self.servers:
            srv.stop()
            if srv.log.exists():
                shutil.copy(srv.log, out.with_name(f"{out.stem}-ledgerd-{name}.log"))
            shutil.rmtree(srv.workdir, ignore_errors=True)


async def kill_campaign(run: Campaign, backend: str) -> None:
    """kill -9 at random moments of the write load; after each: restart (timed), check
    the ledger and compare its views with a rebuild's, resume the load."""
    srv = run.server(backend, "faults_kill")
    await asyncio.to_thread(srv.start)
    sign_in(srv.token())
    writers = Writers(srv.target, run.args.writers, "k")
    await writers.prepare()
    writers.start()
    restarts: list[float] = []
    worst = Findings()
    differ = 0
    try:
        for kill in range(run.args.kills):
            await asyncio.sleep(run.rng.uniform(0.3, 2.0))
            assert srv.proc is not None
            srv.proc.kill()
            await asyncio.to_thread(srv.proc.wait)
            srv.proc = None
            restarts.append(await asyncio.to_thread(srv.start))
            found, differs = await survived(srv, writers)
            worst = worst.merge(found)
            differ += differs
            print(
                f"[kill/{backend}] kill {kill + 1}: restart {restarts[-1]:.2f} s; "
                f"{found.summary()}; views differ {differs}",
                flush=True,
            )
            writers.resume()
    finally:
        await writers.close()
        await asyncio.to_thread(srv.stop)
    outcomes = dict(Counter(f"{a.kind} {a.outcome}" for a in writers.attempts))
    note = f"{run.args.writers} writers; call attempts {outcomes}"
    run.emit(
        Row(
            "kill",
            backend,
            "kills survived",
            len(restarts),
            "kills",
            note=note,
            detail={"errors": writers.errors},
        )
    )
    note = f"of {len(writers.acknowledged)}: a retry answered without the release it made"
    run.emit(
        Row(
            "kill",
            backend,
            "acknowledgements without their release",
            writers.without_release,
            "",
            note=note,
        )
    )
    restarts.sort()
    note = f"process start to ready line, {len(restarts)} restarts"
    run.emit(
        Row(
            "kill",
            backend,
            "restart after kill -9, p50",
            percentile(restarts, 0.5),
            "s",
            note=note,
            detail={"restarts_s": restarts},
        )
    )
    run.emit(Row("kill", backend, "restart after kill -9, max", percentile(restarts, 1.0), "s"))
    emit_findings(run, "kill", backend, worst, differ)


def main() -> int:
    args = parse_args(sys.argv[1:])
    signal.signal(signal.SIGTERM, _interrupt)
    return asyncio.run(main_async(args))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2 kills, a 1 s outage (~2 min)")
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--kills", type=int, default=None, help="kills per backend (20; quick 2)")
    p.add_argument("--writers", type=int, default=8)
    p.add_argument("--outages", default=None, help="seconds PostgreSQL is down (2,30; quick 1)")
    p.add_argument("--seed", type=int, default=None, help="of the kill moments (random)")
    p.add_argument("--out", default=str(HERE / "results" / "faults.json"))
    args = p.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(args.backends) - set(BACKENDS) | set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown backend or scenario: {', '.join(sorted(unknown))}")
    args.kills = args.kills or (2 if args.quick else 20)
    args.outages = [float(s) for s in (args.outages or ("1" if args.quick else "2,30")).split(",")]
    args.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    return args


async def main_async(args: argparse.Namespace) -> int:
    from bench import faultcases  # the outage, disk and docker scenarios

    run = Campaign(args)
    print(f"seed {args.seed}; load average {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    if "postgres" in args.backends and {"kill", "outage"} & set(args.scenarios):
        run.postgres = await asyncio.to_thread(Postgres(durable=True).start)
    try:
        for backend in args.backends:
            if "kill" in args.scenarios:
                await guarded(run, "kill", backend, kill_campaign(run, backend))
        if "outage" in args.scenarios and "postgres" in args.backends:
            await guarded(run, "outage", "postgres", faultcases.outage(run))
        if "disk" in args.scenarios:
            await guarded(run, "disk", "sqlite", faultcases.disk_full(run))
        if "docker" in args.scenarios:
            await guarded(run, "docker", "sqlite", faultcases.engine_restart(run))
    finally:
        run.clean_up()
        if run.postgres is not None:
            run.postgres.stop()
    return write_report(run, time.perf_counter() - t0)


async def guarded(run: Campaign, case: str, backend: str, scenario: Any) -> None:
    """Run one scenario; an error is a failed row, not the end of the campaign."""
    try:
        await scenario
    except Exception as error:  # reported as a row, the campaign goes on
        run.emit(
            Row(
                case,
                backend,
                "scenario ran",
                0,
                "",
                [(at_most(-1, "no error"), 0)],
                note=one_line(error),
            )
        )


def one_line(error: BaseException) -> str:
    """``error`` on one line (a gRPC error: its code and details)."""
    code, details = getattr(error, "code", None), getattr(error, "details", None)
    if callable(code) and callable(details):
        return f"{type(error).__name__} {code().name}: {details()}"
    return f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"


def write_report(run: Campaign, elapsed: float) -> int:
    table = report.table(run.rows)
    load = os.getloadavg()
    print(f"\n{table}\n\nwhole run: {elapsed / 60:.1f} min, load average now {load[0]:.2f}")
    out = Path(run.args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seed": run.args.seed,
        "elapsed_s": round(elapsed, 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_end": load,
    }
    rows = [r.as_dict() for r in run.rows]
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=str) + "\n")
    out.with_suffix(".md").write_text(table + "\n")
    print(f"results: {out} and {out.with_suffix('.md')}")
    return 1 if any(r.passed is False for r in run.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
