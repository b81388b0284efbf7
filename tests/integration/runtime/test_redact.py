"""How the Docker runtime keeps env values out of steps and causes (``runtime.docker.redact``),
without an engine: the contract suite shows it on real containers that print their env."""

from __future__ import annotations

from ledger.domain import Cause, CauseKind, StepKind
from runtime.docker.redact import Redactor
from tests.support.runtimes import Recorder

from .support import release


def test_env_values_of_both_releases_are_masked_but_short_values_are_left_alone() -> None:
    old = release("shop", "shop:1", 1, env={"TOKEN": "old-token-123", "DEBUG": "true"})
    new = release("shop", "shop:2", 2, env={"TOKEN": "new-token-456", "PORT": "8080"})
    secrets = Redactor(new, old)

    text = secrets.text("new-token-456 old-token-123 true 8080")

    assert text == "*** *** true 8080"


def test_a_value_containing_another_is_masked_whole() -> None:
    secrets = Redactor(release("shop", "shop:1", 1, env={"A": "abcdef", "B": "xxabcdefxx"}))

    assert secrets.text("got xxabcdefxx and abcdef") == "got *** and ***"


def test_every_text_field_of_a_cause_is_masked_and_its_kind_and_exit_code_are_kept() -> None:
    secrets = Redactor(release("shop", "shop:1", 1, env={"TOKEN": "hunter22"}))
    cause = Cause(
        CauseKind.HEALTH_CHECK_FAILED,
        "HTTP 500: hunter22",
        exit_code=3,
        last_response="HTTP 500: hunter22",
        output="token=hunter22",
    )

    masked = secrets.cause(cause)

    assert masked == Cause(
        CauseKind.HEALTH_CHECK_FAILED,
        "HTTP 500: ***",
        exit_code=3,
        last_response="HTTP 500: ***",
        output="token=***",
    )
    assert secrets.cause(None) is None


def test_steps_are_masked_on_their_way_to_progress_and_cancellation_is_passed_through() -> None:
    recorder = Recorder()
    progress = Redactor(release("shop", "shop:1", 1, env={"TOKEN": "hunter22"})).progress(recorder)

    progress.step(StepKind.CONTAINER_FAILED, "web.1 failed: hunter22")
    recorder.cancel()

    assert recorder.steps == [(StepKind.CONTAINER_FAILED, "web.1 failed: ***")]
    assert progress.cancelled()
