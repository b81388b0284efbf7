"""A process's own words may hold its secrets (a crash that prints its config, a health
check that echoes a token): whatever the runtime reports, the promoter records it with the
release's env values hidden, in every step message and every text of the cause."""

from __future__ import annotations

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, CreateBuild, PromoteRelease, UpdateEnv
from ledger.domain import Cause, CauseKind, Meta, StepKind
from ledger.promoter import Promoter
from ledger.runtime import Progress, RolloutPlan
from ledger.service import LedgerService
from runtime.record import RecordRuntime
from tests.support.builds import image_build

SECRET = "hunter2-the-password"


class TellingRuntime(RecordRuntime):
    """Repeats every env value of the release in what it reports, then fails."""

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        told = " ".join(sorted(plan.target.env.values()))
        progress.step(StepKind.CONTAINER_FAILED, f"web.1 printed {told}")
        return Cause(
            CauseKind.HEALTH_CHECK_FAILED,
            f"GET /health answered {told}",
            last_response=told,
            output=f"config: {told}; port 8080",
        )


def test_what_a_runtime_reports_is_recorded_with_the_env_values_hidden(
    ledger: LedgerApplication, meta: Meta
) -> None:
    runtime = TellingRuntime()
    service = LedgerService(ledger, runtime, Promoter(ledger, runtime, max_workers=0))
    service.create_app(CreateApp("shop"), meta)
    service.update_env(UpdateEnv("shop", {"PASSWORD": SECRET, "DEBUG": "on"}), meta)
    release = image_build(service, CreateBuild("shop", "shop:1"), meta).release_id

    promotion_id = service.promote(PromoteRelease("shop", release), meta).promotion_id

    promotion = ledger.promotion("shop", promotion_id)
    assert promotion.status == "rolled_back"
    assert promotion.cause["output"] == "config: *** on; port 8080"
    assert promotion.cause["last_response"] == "*** on"
    events = [vars(e) for e in ledger.events.get(promotion.id)]
    assert SECRET not in repr(events)
