"""Closed-loop load: N asyncio workers, each issuing one call after the other.

Latencies are taken with ``perf_counter_ns`` around each call; only calls that start
inside the measured window (after the warm-up) are counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

Op = Callable[[int], Awaitable[Any]]
"""One call; gets the worker's index."""


class Busy(Exception):
    """The op could not run now (e.g. a promotion still in flight): retried, not counted."""


def percentile(sorted_values: list[int] | list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (nan when empty)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return float(sorted_values[index])


@dataclass
class LoadResult:
    """Outcome of one closed-loop run."""

    ops: int = 0
    secs: float = 0.0
    latencies_ns: list[int] = field(default_factory=list, repr=False)
    errors: Counter[str] = field(default_factory=Counter)
    busy: int = 0

    @property
    def rate(self) -> float:
        return self.ops / self.secs if self.secs else 0.0

    def ms(self, q: float) -> float:
        """Latency percentile in ms (``latencies_ns`` is kept sorted)."""
        return percentile(self.latencies_ns, q) / 1e6

    def summary(self) -> dict[str, Any]:
        return {
            "ops": self.ops,
            "secs": round(self.secs, 3),
            "rate": round(self.rate, 1),
            "p50_ms": round(self.ms(0.50), 3),
            "p99_ms": round(self.ms(0.99), 3),
            "max_ms": round(self.ms(1.0), 3),
            "errors": dict(self.errors),
            "busy": self.busy,
        }


def error_kind(error: BaseException) -> str:
    if isinstance(error, grpc.aio.AioRpcError):
        return str(error.code().name)
    return type(error).__name__


async def closed_loop(op: Op, workers: int, secs: float, warmup: float = 0.5) -> LoadResult:
    """Run ``workers`` tasks calling ``op`` back to back for ``warmup + secs`` seconds."""
    result = LoadResult()
    clock = time.perf_counter_ns
    start = clock() + int(warmup * 1e9)
    end = start + int(secs * 1e9)
    lats = result.latencies_ns

    async def worker(index: int) -> None:
        while True:
            t0 = clock()
            if t0 >= end:
                return
            try:
                await op(index)
            except Busy:
                if t0 >= start:
                    result.busy += 1
                await asyncio.sleep(0.001)
                continue
            except (grpc.aio.AioRpcError, TimeoutError) as error:
                if t0 >= start:
                    result.errors[error_kind(error)] += 1
                await asyncio.sleep(0.005)
                continue
            if t0 >= start:
                lats.append(clock() - t0)

    await asyncio.gather(*(worker(i) for i in range(workers)))
    lats.sort()
    result.ops = len(lats)
    result.secs = max(clock(), end) / 1e9 - start / 1e9
    return result


async def sequential(op: Op, count: int, warmup: int = 3) -> list[int]:
    """Latencies (ns) of ``count`` calls made one after the other, after ``warmup`` calls."""
    for _ in range(warmup):
        await op(0)
    lats: list[int] = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        await op(0)
        lats.append(time.perf_counter_ns() - t0)
    lats.sort()
    return lats
