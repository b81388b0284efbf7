"""Awaiting a projected position: resolved by the worker's reports, in order, or timed out."""

from __future__ import annotations

import asyncio
import threading

from server.infra.positions import ProjectedPositions


class Worker:
    """Stands for the projection worker: a position, and the reports it sends from a thread."""

    def __init__(self) -> None:
        self.position = 0
        self.positions = ProjectedPositions(lambda: self.position)

    def project(self, position: int) -> None:
        def run() -> None:
            self.position = position
            self.positions.projected(position)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()


def test_a_position_already_projected_is_reached_at_once() -> None:
    worker = Worker()
    worker.position = 5

    assert asyncio.run(worker.positions.wait_for(5, timeout=1)) is True


def test_waiters_are_released_when_the_worker_reports_their_position() -> None:
    worker = Worker()

    async def scenario() -> list[int]:
        released: list[int] = []

        async def wait(position: int) -> None:
            await worker.positions.wait_for(position, timeout=10)
            released.append(position)

        waiters = [asyncio.create_task(wait(p)) for p in (3, 1, 2, 7)]
        await asyncio.sleep(0)
        worker.project(3)
        await asyncio.wait(waiters[:3])
        early = sorted(released)
        worker.project(9)
        await asyncio.wait(waiters)
        return [*early, *released[3:]]

    assert asyncio.run(scenario()) == [1, 2, 3, 7]


def test_a_position_never_projected_gives_up_after_the_timeout_and_is_forgotten() -> None:
    worker = Worker()

    async def scenario() -> tuple[bool, int]:
        reached = await worker.positions.wait_for(4, timeout=0.05)
        return reached, len(worker.positions._waiting)

    assert asyncio.run(scenario()) == (False, 0)
