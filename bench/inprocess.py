"""The write path without gRPC: how fast the use case itself runs, and what threads cost.

    python -m bench.inprocess [--commands 2000] [--threads 1,8] [--out FILE.json]

``UpdateEnv`` is run through the use case ``ledgerd`` runs (``bootstrap`` on a fresh
SQLite data dir, the ``record`` runtime, the projection worker started), each command
followed by its read-your-writes wait, by 1 thread and then by 8 (each on its own
deployed app, as the ``write`` case's clients). No gRPC and no event loop: what is left
is deciding, saving, projecting and the hand-offs between the threads.

Meanwhile a probe thread sleeps 1 ms again and again and records how late it wakes:
past the sleep itself, that is the time it waited for the interpreter lock (the GIL)
the other threads held. The figure says how much of a command's latency is spent
queueing for the one interpreter rather than working (see README.md, "Performance").
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger.commands import CreateApp, CreateBuild, PromoteRelease, UpdateEnv
from ledger.domain import Meta
from ledger.domain.promotion import PromotionStatus
from server.bootstrap import Container, bootstrap
from server.infra.settings import Settings

PROBE_SLEEP = 0.001
SETTLE_SECONDS = 30.0


@dataclass
class Result:
    """One run: its rate, the command latencies and the probe's lateness (seconds)."""

    threads: int
    commands: int
    seconds: float
    cpu_seconds: float
    latencies: list[float]
    lateness: list[float]

    @property
    def rate(self) -> float:
        return self.commands / self.seconds

    def figures(self) -> dict[str, float]:
        """The run's figures (rate in commands/s, times in ms), for ``--out``."""
        lat, late = sorted(self.latencies), sorted(self.lateness)
        return {
            "threads": self.threads,
            "rate": self.rate,
            "cpu_ms_per_command": self.cpu_seconds / self.commands * 1e3,
            "latency_p50_ms": _seconds(lat, 0.5) * 1e3,
            "latency_p99_ms": _seconds(lat, 0.99) * 1e3,
            "gil_wait_p50_ms": _seconds(late, 0.5) * 1e3,
            "gil_wait_mean_ms": sum(late) / max(len(late), 1) * 1e3,
        }

    def line(self) -> str:
        rate = self.rate
        lat, late = sorted(self.latencies), sorted(self.lateness)
        return (
            f"{self.threads} thread(s): {rate:,.0f} cmd/s, {self.seconds / self.commands * 1e3:.2f}"
            f" ms per command ({self.cpu_seconds / self.commands * 1e3:.2f} ms of CPU);"
            f" latency p50 {_ms(lat, 0.5)} / p99 {_ms(lat, 0.99)} ms;"
            f" waiting for the GIL p50 {_ms(late, 0.5)} / p90 {_ms(late, 0.9)} ms,"
            f" mean {sum(late) / max(len(late), 1) * 1e3:.2f} ms"
        )


def _seconds(values: list[float], share: float) -> float:
    if not values:
        return math.nan
    return values[min(int(len(values) * share), len(values) - 1)]


def _ms(values: list[float], share: float) -> str:
    return f"{_seconds(values, share) * 1e3:.2f}"


class Probe:
    """A thread measuring how late a 1 ms sleep wakes (the GIL wait), while started."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gil-probe", daemon=True)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            time.sleep(PROBE_SLEEP)
            self.lateness.append(time.perf_counter() - started - PROBE_SLEEP)


def deployed(c: Container, names: list[str], meta: Callable[[], Meta]) -> None:
    """Each app created, built from an image ref and promoted (so UpdateEnv makes releases)."""
    for name in names:
        c.service.create_app(CreateApp(name=name), meta())
        c.builds.create_from_image(CreateBuild(app=name, image=f"registry.local/{name}:1"), meta())
        promotion = c.service.promote(PromoteRelease(app=name), meta()).promotion_id
        deadline = time.monotonic() + SETTLE_SECONDS
        while not PromotionStatus(c.ledger.promotion(name, promotion).status).terminal:
            if time.monotonic() > deadline:
                raise TimeoutError(f"promotion {promotion} of {name} did not settle")
            time.sleep(0.005)


def run(
    c: Container,
    apps: list[str],
    commands: int,
    meta: Callable[[], Meta],
    projected: Callable[[int], None],
) -> Result:
    """``commands`` UpdateEnv split over one thread per app, each followed by
    ``projected(position)``, which returns once the views have it."""
    latencies: list[float] = []
    each = commands // len(apps)

    def writer(app: str) -> None:
        for n in range(each):
            started = time.perf_counter()
            change = UpdateEnv(app=app, set_values={"K": str(n)})
            projected(c.service.update_env(change, meta()).position)
            latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=writer, args=(app,)) for app in apps]
    with Probe() as probe:
        started, cpu = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Result(len(apps), each * len(apps), seconds, cpu, latencies, probe.lateness)


def metas(actor: str) -> Callable[[], Meta]:
    """Each call: the request metadata of a new request (a fresh request id)."""
    serial = itertools.count()
    return lambda: Meta(actor=f"bench@{actor}", request_id=f"{actor}-{next(serial)}")


def measure(data_dir: Path, commands: int, thread_counts: list[int]) -> list[Result]:
    container = bootstrap(Settings(data_dir=data_dir, runtime="record", build_workers=0))
    meta = metas("inprocess")

    def projected(position: int) -> None:
        if not container.worker.wait_for(position):
            raise TimeoutError(f"position {position} was not projected")

    try:
        container.worker.start()
        results = []
        for count in thread_counts:
            apps = [f"inproc-{count}-{n}" for n in range(count)]
            deployed(container, apps, meta)
            results.append(run(container, apps, commands, meta, projected))
        return results
    finally:
        container.worker.stop()
        container.close()


Measure = Callable[[Path, int, list[int]], list[Result]]


def cli(doc: str, measure: Measure, argv: list[str] | None) -> None:
    """The command line of an in-process write benchmark (``doc``: its module's doc)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--threads", default="1,8", help="comma-separated thread counts")
    parser.add_argument("--out", type=Path, help="also write the figures there, as JSON")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.threads.split(",")]
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as data_dir:
        results = measure(Path(data_dir), args.commands, counts)
    for result in results:
        print(result.line(), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps([result.figures() for result in results], indent=1))


def main(argv: list[str] | None = None) -> None:
    cli(__doc__ or "", measure, argv)


if __name__ == "__main__":
    main()
