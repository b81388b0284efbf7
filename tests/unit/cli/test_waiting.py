"""The verdict of --wait, from promotions and builds as ledgerd reports them.

A real ledgerd with the record runtime only ever succeeds; a promotion that rolled back,
failed or was cancelled, or a failed build, is checked here on the messages themselves
(exit 3 and exit 1 against a real server arrive with the Docker runtime's tests).
"""

from __future__ import annotations

import io

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cli.context import Session
from cli.errors import EXIT_PROMOTION_FAILED, EXIT_REFUSED, CliError, PromotionDidNotSucceed
from cli.waiting import check_build, check_promotion, wait_for_promotion
from ledger_api.v1 import ledger_pb2 as pb


def step(position: int, kind: str, message: str) -> pb.PromotionStep:
    return pb.PromotionStep(
        position=position, time=Timestamp(seconds=1795721288), kind=kind, message=message
    )


def never_polls(_: float) -> None:
    raise AssertionError("the promotion has ended: nothing to poll")


def session(*, as_json: bool = False) -> Session:
    return Session(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ={},
        json=as_json,
        app="web",
        sleep=never_polls,
    )


def test_a_promotion_that_rolled_back_fails_the_wait_with_exit_3_and_its_reason() -> None:
    promotion = pb.Promotion(id="P1", status="rolled_back", reason="health check failed")

    with pytest.raises(PromotionDidNotSucceed) as failed:
        check_promotion(promotion)

    assert failed.value.exit_code == EXIT_PROMOTION_FAILED
    assert failed.value.message == "promotion P1 rolled_back: health check failed"


def test_a_cancelled_promotion_without_a_reason_fails_with_its_cause() -> None:
    cause = pb.PromotionCause(kind="cancelled", message="cancelled by ann@box")
    promotion = pb.Promotion(id="P1", status="cancelled", cause=cause)

    with pytest.raises(PromotionDidNotSucceed, match=r"^promotion P1 cancelled: cancelled by"):
        check_promotion(promotion)


def test_a_failed_promotion_without_reason_or_cause_says_so() -> None:
    with pytest.raises(PromotionDidNotSucceed, match=r"^promotion P1 failed: no reason given$"):
        check_promotion(pb.Promotion(id="P1", status="failed"))


def test_a_promotion_that_succeeded_passes() -> None:
    check_promotion(pb.Promotion(id="P1", status="succeeded"))


def test_waiting_for_a_promotion_that_ended_prints_its_steps_and_polls_nothing() -> None:
    ended = pb.Promotion(
        id="P1",
        app="web",
        status="rolled_back",
        steps=[step(1, "started", "go"), step(2, "health_check", "web: 503")],
    )
    waiting = session()

    assert wait_for_promotion(waiting, ended) is ended

    assert isinstance(waiting.stderr, io.StringIO)
    assert waiting.stderr.getvalue().splitlines() == [
        "2026-11-26T19:28:08Z  started  go",
        "2026-11-26T19:28:08Z  health_check  web: 503",
    ]


def test_waiting_with_json_prints_no_steps() -> None:
    ended = pb.Promotion(id="P1", app="web", status="succeeded", steps=[step(1, "started", "go")])
    waiting = session(as_json=True)

    wait_for_promotion(waiting, ended)

    assert isinstance(waiting.stderr, io.StringIO)
    assert waiting.stderr.getvalue() == ""


def test_a_failed_build_is_exit_1_with_its_error() -> None:
    build = pb.Build(id="B1", app="web", status="failed", error="no such image")

    with pytest.raises(CliError) as failed:
        check_build(build)

    assert failed.value.exit_code == EXIT_REFUSED
    assert failed.value.message == "build B1 failed: no such image"


def test_a_succeeded_build_gives_its_release_id() -> None:
    assert check_build(pb.Build(id="B1", status="succeeded", release_id="R1")) == "R1"
