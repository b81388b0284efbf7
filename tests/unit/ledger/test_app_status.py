"""An app's status in one phrase, as the apps list and the app's header show it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ledger.queries.app_status import app_status, outcome
from ledger.views import AppView, PromotionView, ReleaseView

NOW = datetime(2026, 12, 2, tzinfo=UTC)
APP = AppView(name="shop", created_at=NOW, actor="alice", active_release_id="R12")
LIVE = ReleaseView(
    id="R12", app="shop", version=12, build_id="B1", image="shop:12", env_version=1,
    env_keys=(), reason="build", parent_id="", description="", actor="alice",
    created_at=NOW, position=9, active=True,
)  # fmt: skip
NEXT = replace(LIVE, id="R13", version=13, active=False)
PROMOTION = PromotionView(
    id="P1", app="shop", release_id="R13", previous_release_id="R12", status="running",
    actor="alice", description="", deadline_seconds=0, created_at=NOW, position=10,
)  # fmt: skip


def test_an_app_whose_last_promotion_succeeded_is_healthy_with_its_live_version() -> None:
    last = replace(PROMOTION, status="succeeded")
    status = app_status(APP, LIVE, None, None, last)
    assert (status.label, status.tone) == ("Healthy · v12 live", "ok")


def test_a_rollout_in_flight_says_which_version_it_rolls_out() -> None:
    status = app_status(APP, LIVE, PROMOTION, NEXT, None)
    assert (status.label, status.tone) == ("Rolling out v13", "busy")


def test_a_failed_last_promotion_shows_while_the_old_release_still_serves() -> None:
    cause = {"kind": "health_check", "message": "GET /health answered 500"}
    last = replace(PROMOTION, status="rolled_back", cause=cause)
    status = app_status(APP, LIVE, None, None, last)
    assert (status.label, status.tone) == ("Last deploy failed · v12 live", "bad")
    assert status.detail == "health_check: GET /health answered 500"
    assert outcome(last) == "failed and was rolled back"


def test_paused_automatic_promotion_is_a_status_of_its_own() -> None:
    paused = replace(APP, auto_promotion_paused="a person rolled back")
    status = app_status(paused, LIVE, None, None, None)
    assert (status.label, status.tone) == ("Auto-deploy paused · v12 live", "warn")


def test_an_app_that_never_went_live_says_so() -> None:
    status = app_status(replace(APP, active_release_id=""), None, None, None, None)
    assert status.label == "No release live"
