"""Raw ceilings measured in the same run: bare grpcio echo and bare eventsourcing saves.

Our figures are reported as ratios to these, so a slower or busier machine moves both.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import grpc
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.load import LoadResult, closed_loop
from bench.server import free_port

HERE = Path(__file__).resolve().parent
PAYLOAD = "x" * 100  # unary request
STREAM_MSG = "y" * 20  # streamed message


def compile_echo(out: Path) -> tuple[ModuleType, ModuleType]:
    """Generate echo_pb2 / echo_pb2_grpc from bench/echo.proto into ``out``; import them."""
    shutil.copy(HERE / "echo.proto", out / "echo.proto")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{out}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            str(out / "echo.proto"),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(out))
    import echo_pb2  # type: ignore[import-not-found]
    import echo_pb2_grpc  # type: ignore[import-not-found]

    return echo_pb2, echo_pb2_grpc


class EchoServer:
    """bench/echo_server.py in a subprocess (on uvloop if ``loop`` says so); stopped by its
    own pid."""

    def __init__(self, loop: str = "asyncio") -> None:
        self.loop = loop
        self.gen = Path(tempfile.mkdtemp(prefix="bench-echo-"))
        self.pb2, self.pb2_grpc = compile_echo(self.gen)
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> EchoServer:
        script = HERE / "echo_server.py"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.gen), str(self.port), self.loop],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "ready" not in line:
            self.__exit__(None, None, None)
            raise RuntimeError(f"echo server failed to start: {line!r}")
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.gen, ignore_errors=True)


async def echo_unary(server: EchoServer, in_flight: int, secs: float) -> LoadResult:
    """aio client, ``in_flight`` concurrent unary echoes on one channel."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        stub = server.pb2_grpc.EchoStub(channel)
        request = server.pb2.Ping(msg=PAYLOAD)

        async def op(_: int) -> None:
            await stub.Echo(request, timeout=10)

        return await closed_loop(op, in_flight, secs)


async def echo_stream(server: EchoServer, count: int) -> float:
    """Messages/s received on one server stream of ``count`` messages (after a warm-up)."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        stub = server.pb2_grpc.EchoStub(channel)
        async for _ in stub.Stream(server.pb2.Flood(count=1000, msg=STREAM_MSG)):
            pass
        t0 = time.perf_counter()
        got = 0
        async for _ in stub.Stream(server.pb2.Flood(count=count, msg=STREAM_MSG), timeout=300):
            got += 1
        secs = time.perf_counter() - t0
    if got != count:
        raise RuntimeError(f"echo stream: got {got} of {count} messages")
    return count / secs


# ------------------------------------------------------------------ eventsourcing


class Counter(Aggregate):
    """The trivial aggregate: one small event per command."""

    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Bumped")
    def bump(self, by: int) -> None:
        self.count += by


class CeilingApp(Application[Any]):
    name = "Ceiling"


def sqlite_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


def postgres_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }


def es_saves(env: dict[str, str], secs: float, aggregates: int = 100) -> dict[str, float]:
    """Single-event ``Application.save`` transactions/s, round-robin over aggregates."""
    app = CeilingApp(env=env)
    try:
        counters = [Counter(name=f"c{i}") for i in range(aggregates)]
        app.save(*counters)
        for counter in counters[:10]:  # warm-up
            counter.bump(1)
            app.save(counter)
        lats: list[int] = []
        clock = time.perf_counter_ns
        end = clock() + int(secs * 1e9)
        t_start = clock()
        i = 0
        while clock() < end:
            counter = counters[i % aggregates]
            t0 = clock()
            counter.bump(1)
            app.save(counter)
            lats.append(clock() - t0)
            i += 1
        elapsed = (clock() - t_start) / 1e9
    finally:
        app.close()
    lats.sort()
    return {
        "rate": round(len(lats) / elapsed, 1),
        "saves": len(lats),
        "p50_ms": round(lats[len(lats) // 2] / 1e6, 3),
        "p99_ms": round(lats[int(len(lats) * 0.99)] / 1e6, 3),
    }
