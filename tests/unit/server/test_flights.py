"""Reads in flight are shared by the callers that may share them, and only by those."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.infra.flights import SharedReads


class Reads:
    """Blocking reads in a thread pool, held until ``release`` (what the backend does)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(4)
        self.gate = threading.Event()
        self.started = 0
        self.stamp = 0  # what a read begins under (bumped: a change callers must see)
        self.shared: SharedReads[str, str] = SharedReads()

    def start(self, key: str) -> tuple[int, asyncio.Future[str]]:
        self.started += 1
        number, stamp = self.started, self.stamp

        def blocking() -> str:
            self.gate.wait(10)
            return f"{key} read #{number}"

        return stamp, asyncio.get_running_loop().run_in_executor(self.pool, blocking)

    async def read(self, key: str) -> str:
        return await self.shared.read(key, lambda s: s == self.stamp, lambda: self.start(key))


def test_callers_asking_at_once_share_one_read() -> None:
    async def scenario() -> list[str]:
        reads = Reads()
        callers = [asyncio.create_task(reads.read("web")) for _ in range(5)]
        other = asyncio.create_task(reads.read("api"))
        await asyncio.sleep(0.01)
        reads.gate.set()
        answers = await asyncio.gather(*callers, other)
        assert reads.started == 2 and len(reads.shared) == 0
        return answers

    assert asyncio.run(scenario()) == ["web read #1"] * 5 + ["api read #2"]


def test_a_caller_after_a_change_does_not_join_a_read_begun_before_it() -> None:
    async def scenario() -> tuple[str, str]:
        reads = Reads()
        before = asyncio.create_task(reads.read("web"))
        await asyncio.sleep(0.01)
        reads.stamp += 1  # e.g. a batch touched the app, or a key was revoked
        after = asyncio.create_task(reads.read("web"))
        await asyncio.sleep(0.01)
        reads.gate.set()
        return await before, await after

    assert asyncio.run(scenario()) == ("web read #1", "web read #2")


def test_a_caller_that_goes_away_leaves_the_read_to_the_others() -> None:
    async def scenario() -> str:
        reads = Reads()
        leaving = asyncio.create_task(reads.read("web"))
        staying = asyncio.create_task(reads.read("web"))
        await asyncio.sleep(0.01)
        leaving.cancel()
        await asyncio.sleep(0.01)
        reads.gate.set()
        return await staying

    assert asyncio.run(scenario()) == "web read #1"


def test_a_failed_read_fails_its_callers_and_the_next_caller_reads_again() -> None:
    async def scenario() -> str:
        shared: SharedReads[str, str] = SharedReads()
        loop = asyncio.get_running_loop()

        def failing() -> str:
            raise LookupError("no such app")

        def start() -> tuple[int, asyncio.Future[str]]:
            return 0, loop.run_in_executor(None, failing)

        for _ in range(2):
            with pytest.raises(LookupError):
                await shared.read("web", lambda s: True, start)
        assert len(shared) == 0
        future = loop.create_future()
        future.set_result("web")
        return await shared.read("web", lambda s: True, lambda: (0, future))

    assert asyncio.run(scenario()) == "web"
