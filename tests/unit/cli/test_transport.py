"""The transport's own rules, without a server: metadata on every call, retry and backoff.

That a retried call carries the same request_id, and that ledgerd then records it once,
is shown against a real ledgerd in tests/integration/cli/test_requests.py.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from cli.errors import ANSWERED
from cli.transport import BACKOFF, MAX_BACKOFF, RESTART_PATIENCE, RETRIES, Transport


class Status(grpc.RpcError):  # type: ignore[misc]
    """A failed call's error as grpc raises it: an RpcError with a status code (and
    ledgerd's mark when ``answered``: ledgerd chose the status itself)."""

    def __init__(self, code: grpc.StatusCode, answered: bool = False) -> None:
        super().__init__(code.name)
        self._code = code
        self._answered = answered

    def code(self) -> grpc.StatusCode:
        return self._code

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return (ANSWERED,) if self._answered else ()


def transport(token: str | None = None) -> tuple[Transport, list[float]]:
    pauses: list[float] = []
    return Transport(host="ledger:50051", token=token, sleep=pauses.append), pauses


def failing(*codes: grpc.StatusCode, answered: bool = False) -> tuple[Callable[[], str], list[int]]:
    """An attempt that fails with ``codes`` in turn, then answers "done"."""
    attempts: list[int] = []

    def attempt() -> str:
        attempts.append(len(attempts) + 1)
        if len(attempts) <= len(codes):
            raise Status(codes[len(attempts) - 1], answered)
        return "done"

    return attempt, attempts


UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def test_without_a_token_a_call_carries_no_metadata_at_all() -> None:
    assert transport()[0].metadata() == []


def test_a_token_is_sent_as_a_bearer_authorization_and_nothing_else_names_the_caller() -> None:
    assert transport("s3cret")[0].metadata() == [("authorization", "Bearer s3cret")]


def test_a_channel_is_plaintext_unless_a_ca_or_tls_is_asked_for() -> None:
    assert not transport()[0].secure
    assert Transport(host="h:1", ca=b"-----BEGIN CERTIFICATE-----").secure
    assert Transport(host="h:1", tls=True).secure


def test_a_call_answered_unavailable_is_attempted_again_after_a_doubling_pause() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(UNAVAILABLE, UNAVAILABLE)

    assert wire.retrying(attempt) == "done"

    assert attempts == [1, 2, 3]
    assert pauses == [BACKOFF, BACKOFF * 2]


def test_unavailable_answered_by_ledgerd_reaches_the_caller_after_the_last_retry() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(*[UNAVAILABLE] * (RETRIES + 1), answered=True)

    with pytest.raises(Status):
        wire.retrying(attempt)

    assert len(attempts) == RETRIES + 1
    assert len(pauses) == RETRIES


def test_a_ledgerd_gone_is_waited_for_as_long_as_a_restart_takes_then_reported() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(*[UNAVAILABLE] * 100)

    with pytest.raises(Status):
        wire.retrying(attempt)

    assert sum(pauses[:-1]) < RESTART_PATIENCE <= sum(pauses)
    assert max(pauses) == MAX_BACKOFF
    assert len(attempts) == len(pauses) + 1


def test_a_ledgerd_back_after_a_restart_gets_the_call() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(*[UNAVAILABLE] * 6)

    assert wire.retrying(attempt) == "done"

    assert len(attempts) == 7
    assert pauses == [BACKOFF, BACKOFF * 2, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]


def test_a_refusal_is_not_attempted_again() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(grpc.StatusCode.NOT_FOUND)

    with pytest.raises(Status):
        wire.retrying(attempt)

    assert (attempts, pauses) == ([1], [])


def test_a_call_cut_cancelled_by_a_stopping_server_is_attempted_again() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(grpc.StatusCode.CANCELLED, UNAVAILABLE)

    assert wire.retrying(attempt) == "done"

    assert attempts == [1, 2, 3]
    assert pauses == [BACKOFF, BACKOFF * 2]
