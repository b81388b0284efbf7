"""The transport's own rules, without a server: metadata on every call, retry and backoff.

That a retried call carries the same request_id, and that ledgerd then records it once,
is shown against a real ledgerd in tests/integration/cli/test_requests.py.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import grpc
import pytest

from cli.transport import BACKOFF, RETRIES, Transport, actor


class Status(grpc.RpcError):  # type: ignore[misc]
    """A failed call's error as grpc raises it: an RpcError with a status code."""

    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(code.name)
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


def transport(token: str | None = None) -> tuple[Transport, list[float]]:
    pauses: list[float] = []
    return Transport(host="ledger:50051", actor="ann@box", token=token, sleep=pauses.append), pauses


def failing(*codes: grpc.StatusCode) -> tuple[Callable[[], str], list[int]]:
    """An attempt that fails with ``codes`` in turn, then answers "done"."""
    attempts: list[int] = []

    def attempt() -> str:
        attempts.append(len(attempts) + 1)
        if len(attempts) <= len(codes):
            raise Status(codes[len(attempts) - 1])
        return "done"

    return attempt, attempts


UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def test_every_call_names_the_actor_and_sends_no_authorization_without_a_token() -> None:
    assert transport()[0].metadata() == [("x-ledger-actor", "ann@box")]


def test_a_token_is_sent_as_a_bearer_authorization() -> None:
    assert ("authorization", "Bearer s3cret") in transport("s3cret")[0].metadata()


def test_the_actor_is_the_login_name_at_this_host() -> None:
    assert actor({"LOGNAME": "ann", "USER": "bob"}) == f"ann@{socket.gethostname()}"


def test_the_actor_is_printable_ascii_whatever_the_user_name() -> None:
    assert actor({"USER": "zoë"}) == f"zo\\xeb@{socket.gethostname()}"


def test_a_call_answered_unavailable_is_attempted_again_after_a_doubling_pause() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(UNAVAILABLE, UNAVAILABLE)

    assert wire.retrying(attempt) == "done"

    assert attempts == [1, 2, 3]
    assert pauses == [BACKOFF, BACKOFF * 2]


def test_unavailable_on_every_attempt_reaches_the_caller_after_the_last_retry() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(*[UNAVAILABLE] * (RETRIES + 1))

    with pytest.raises(Status):
        wire.retrying(attempt)

    assert len(attempts) == RETRIES + 1
    assert len(pauses) == RETRIES


def test_a_refusal_is_not_attempted_again() -> None:
    wire, pauses = transport()
    attempt, attempts = failing(grpc.StatusCode.NOT_FOUND)

    with pytest.raises(Status):
        wire.retrying(attempt)

    assert (attempts, pauses) == ([1], [])
