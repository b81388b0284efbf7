"""The ``record`` runtime: the ledger as system of record of deployments done elsewhere.

A promotion is recorded as started and then succeeded at once; nothing is run.
"""

from __future__ import annotations

from ledger.domain import Cause, StepKind
from ledger.runtime import (
    BuildFailed,
    BuildLog,
    BuildRequest,
    BuiltImages,
    Progress,
    RolloutPlan,
    Runtime,
)


class RecordRuntime(Runtime):
    """Records promotions without acting: every rollout succeeds immediately."""

    name = "record"

    def resolve_image(self, reference: str) -> str:
        return reference

    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        raise BuildFailed(
            "the record runtime builds nothing: run ledgerd with LEDGER_RUNTIME=docker"
        )

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        progress.step(StepKind.RECORDED, f"release v{plan.target.version} recorded as running")
        return None

    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        previous = f"v{plan.previous.version}" if plan.previous else "nothing"
        progress.step(StepKind.RESTORED, f"{previous} recorded as running again")
        return None
