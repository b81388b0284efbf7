"""A chat room reads one line per event: who did what to which release, and why it failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ledger.views import BuildView, EventView, PromotionView, ReleaseView
from server.notify.payloads import body, slack_text

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
ALICE = "alice (K1A2B3C4D5E)"


def release(release_id: str, version: int, build_id: str) -> ReleaseView:
    return ReleaseView(
        release_id, "shop", version, build_id, "shop:x", 1, (), "build", "", "", ALICE, T0, 1
    )


def build(build_id: str, sha: str) -> BuildView:
    commit = {"sha": sha} if sha else {}
    return BuildView(build_id, "shop", "succeeded", "", "", "", ALICE, T0, 1, commit=commit)


class Views:
    """The read model as a chat line needs it: two releases of shop, v12 built from git."""

    def __init__(self) -> None:
        self.releases = {
            "R12": release("R12", 12, "B12"),
            "R13": release("R13", 13, "B13"),
        }
        self.builds = {"B12": build("B12", "1a2b3c4d5e6f"), "B13": build("B13", "")}
        cause = {"kind": "health_check", "message": "health check of web answered 500"}
        self.promotions = {
            "P1": PromotionView("P1", "shop", "R12", "R11", "succeeded", ALICE, "", 600, T0, 2),
            "P2": PromotionView(
                "P2", "shop", "R13", "R12", "rolled_back", ALICE, "", 600, T0, 3, cause=cause
            ),
        }

    def get_promotion(self, promotion_id: str) -> PromotionView | None:
        return self.promotions.get(promotion_id)

    def get_release(self, release_id: str) -> ReleaseView | None:
        return self.releases.get(release_id)

    def get_build(self, build_id: str) -> BuildView | None:
        return self.builds.get(build_id)


def entry(kind: str, data: dict[str, Any], actor: str = ALICE) -> EventView:
    return EventView(42, kind, "shop", actor, T0, "req-1", data)


def test_a_promotion_that_succeeded_names_the_version_its_commit_and_who() -> None:
    text = slack_text(
        entry("PromotionSucceeded", {"promotion_id": "P1"}), "promotion.succeeded", Views()
    )
    assert text == "Promoted shop v12 (1a2b3c4) by alice"


def test_a_rolled_back_promotion_says_why_and_to_which_release() -> None:
    event = entry("PromotionRolledBack", {"promotion_id": "P2"}, actor="ledgerd")
    text = slack_text(event, "promotion.rolled_back", Views())
    assert text == (
        "Promotion of shop v13 failed: health check of web answered 500 — rolled back to v12 "
        "(1a2b3c4)"
    )


def test_a_failed_build_names_the_build_the_app_and_the_error() -> None:
    event = entry("BuildFailed", {"build_id": "B99", "error": "the Dockerfile\nfailed"})
    assert (
        slack_text(event, "build.failed", Views())
        == "Build B99 of shop failed: the Dockerfile failed"
    )


def test_an_env_change_names_keys_never_values() -> None:
    data = {"values": {"TOKEN": "hmac-sha256:0011223344556677"}, "removed": ["OLD"]}
    text = slack_text(entry("EnvChanged", data), "env.changed", Views())
    assert text == "Env of shop changed by alice: set TOKEN; removed OLD"


def test_an_event_without_a_sentence_of_its_own_gets_a_plain_one() -> None:
    text = slack_text(entry("KeyCreated", {"key_id": "K1"}), "key.created", Views())
    assert text == "key.created of shop by alice (log position 42)"


def test_the_slack_body_is_only_the_text_and_the_json_body_the_record() -> None:
    event = entry("BuildFailed", {"build_id": "B99", "error": "boom"})
    slack = json.loads(body(event, "build.failed", "d-1", "slack", Views()))
    record = json.loads(body(event, "build.failed", "d-1", "json", Views()))
    assert slack == {"text": "Build B99 of shop failed: boom"}
    assert record == {
        "event": "build.failed",
        "delivery_id": "d-1",
        "log_position": 42,
        "type": "BuildFailed",
        "app": "shop",
        "actor": ALICE,
        "time": "2026-12-05T10:00:00.000000Z",
        "request_id": "req-1",
        "data": {"build_id": "B99", "error": "boom"},
    }
