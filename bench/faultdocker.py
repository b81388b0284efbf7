"""The fault campaign's Docker engine restart during a rollout (placeholder until measured)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.report import Row

if TYPE_CHECKING:
    from bench.faults import Campaign


async def engine_restart(run: Campaign) -> None:
    run.emit(Row("docker", "sqlite", "not run", 0, "", note="not written yet"))
