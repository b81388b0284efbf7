"""An app's state in one phrase a dashboard reader understands at a glance ("Healthy · v12
live", "Rolling out v13", "Last deploy failed · v12 live"), as a rule of the read side.

The phrase weighs, in order: archived (nothing can be deployed), a rollout in flight (it
is about to change everything else), the last promotion's outcome when it did not succeed
(a failed deploy is news even though the old release still serves), automatic promotion
paused (workflows will not deploy), then the live release. ``tone`` names how the console
colours it: ok, busy, bad, warn, off.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.domain.promotion import PromotionStatus
from ledger.views import AppView, PromotionView, ReleaseView

IN_FLIGHT = {PromotionStatus.PENDING, PromotionStatus.RUNNING, PromotionStatus.ROLLING_BACK}
FAILED = {PromotionStatus.FAILED, PromotionStatus.ROLLED_BACK, PromotionStatus.ROLLBACK_FAILED}
OUTCOMES = {
    PromotionStatus.SUCCEEDED: "succeeded",
    PromotionStatus.FAILED: "failed",
    PromotionStatus.ROLLED_BACK: "failed and was rolled back",
    PromotionStatus.ROLLBACK_FAILED: "failed, and so did its rollback",
    PromotionStatus.CANCELLED: "was cancelled",
}


@dataclass(frozen=True)
class AppStatus:
    """The phrase (``label``), its colour (``tone``), and a longer ``detail`` for a title."""

    label: str
    tone: str
    detail: str = ""


def settled(promotion: PromotionView) -> bool:
    """The promotion has an outcome (it is neither waiting nor running)."""
    return promotion.status not in {status.value for status in IN_FLIGHT}


def outcome(promotion: PromotionView) -> str:
    """How a settled promotion ended, in words ("failed and was rolled back")."""
    return OUTCOMES.get(PromotionStatus(promotion.status), promotion.status)


def failed(promotion: PromotionView | None) -> bool:
    return promotion is not None and promotion.status in {status.value for status in FAILED}


def cause_of(promotion: PromotionView) -> str:
    """Why a promotion failed, in one line ("health_check: GET / answered 500")."""
    cause = promotion.cause or {}
    kind, text = str(cause.get("kind", "")), str(cause.get("message", ""))
    return f"{kind}: {text}" if kind and text else kind or text


def app_status(
    app: AppView,
    active: ReleaseView | None,
    in_flight: PromotionView | None,
    target: ReleaseView | None,
    last: PromotionView | None,
) -> AppStatus:
    """The app's status from its live release, the promotion in flight and the release
    it promotes (``target``), and its last settled promotion (``last``)."""
    live = f"v{active.version} live" if active else "nothing live"
    if app.archived:
        return AppStatus(f"Archived · {live}", "off", "an archived review app")
    if in_flight is not None:
        version = f"v{target.version}" if target else "a release"
        verb = {"pending": "Waiting to roll out", "rolling_back": "Rolling back"}.get(
            in_flight.status, "Rolling out"
        )
        return AppStatus(f"{verb} {version}", "busy", f"promotion {in_flight.id}")
    if failed(last) and last is not None:
        return AppStatus(f"Last deploy failed · {live}", "bad", cause_of(last))
    if app.auto_promotion_paused:
        return AppStatus(f"Auto-deploy paused · {live}", "warn", app.auto_promotion_paused)
    if active is None:
        return AppStatus("No release live", "off", "no release was promoted yet")
    return AppStatus(f"Healthy · {live}", "ok", "its last promotion succeeded" if last else "")
