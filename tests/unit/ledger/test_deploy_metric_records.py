"""How the deploy metrics query reads a promotion joined with its release and build
(``ReadModel.list_deployments``) into the record the arithmetic sees."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.queries.deploy_metrics import _record
from ledger.views import DeploymentView, PromotionView

BUILT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ENDED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def joined(status: str = "succeeded", reason: str = "build", **commit: str) -> DeploymentView:
    promotion = PromotionView(
        id="P1", app="shop", release_id="R1", previous_release_id="R0", status=status,
        actor="ann", description="", deadline_seconds=600, created_at=BUILT, position=7,
        started_at=BUILT, ended_at=ENDED if status != "running" else None,
    )  # fmt: skip
    return DeploymentView(promotion, reason, BUILT, BUILT, dict(commit))


def test_a_build_without_a_commit_time_is_measured_from_its_creation() -> None:
    record = _record(joined(sha="abc"))

    assert record is not None
    assert (record.change_at, record.change_base, record.rollback) == (BUILT, "build", False)


def test_a_commit_time_in_the_provenance_is_the_base_when_there_is_one() -> None:
    record = _record(joined(committed_at="2026-11-02T08:30:00+00:00"))

    assert record is not None
    assert record.change_at == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert record.change_base == "commit"


def test_a_commit_time_that_is_not_rfc_3339_with_an_offset_falls_back_to_the_build() -> None:
    for junk in ("yesterday", "2026-11-02T08:30:00"):
        record = _record(joined(committed_at=junk))
        assert record is not None and record.change_base == "build"


def test_env_changes_have_no_lead_time_and_rollbacks_are_marked() -> None:
    env, rollback = _record(joined(reason="env")), _record(joined(reason="rollback"))

    assert env is not None and env.change_at is None
    assert rollback is not None and rollback.rollback and rollback.change_at is None


def test_a_promotion_still_running_is_not_measured() -> None:
    assert _record(joined(status="running")) is None
