"""gRPC status codes → exit codes and one-line messages."""

from __future__ import annotations

import grpc
import pytest

from cli import errors


class FakeRpcError(grpc.RpcError):  # type: ignore[misc]
    """What grpc raises for a failed call: an RpcError that is also a Call."""

    def __init__(
        self, code: grpc.StatusCode, details: str = "", trailing: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._code = code
        self._details = details
        self._trailing = trailing

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._trailing

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ],
)
def test_a_refusal_by_the_server_exits_1(code: grpc.StatusCode) -> None:
    assert errors.rpc_exit_code(FakeRpcError(code)) == 1


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED],
)
def test_not_reaching_the_server_exits_4(code: grpc.StatusCode) -> None:
    assert errors.rpc_exit_code(FakeRpcError(code)) == 4


def test_message_is_the_servers_details() -> None:
    error = FakeRpcError(grpc.StatusCode.NOT_FOUND, "release R9 not found")
    assert errors.rpc_error_message(error, "h:1", 30.0) == "release R9 not found"


def test_message_of_a_multi_line_detail_is_one_line() -> None:
    error = FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "bad\n  name")
    assert errors.rpc_error_message(error, "h:1", 30.0) == "bad name"


def test_message_without_details_names_the_code() -> None:
    error = FakeRpcError(grpc.StatusCode.PERMISSION_DENIED)
    assert errors.rpc_error_message(error, "h:1", 30.0) == "permission_denied"


def test_unavailable_says_which_server_could_not_be_reached() -> None:
    error = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")
    assert errors.rpc_error_message(error, "db:50051", 30.0) == "cannot reach ledgerd at db:50051"


def test_unavailable_answered_by_ledgerd_itself_says_what_is_down() -> None:
    error = FakeRpcError(
        grpc.StatusCode.UNAVAILABLE,
        "cannot reach the Docker engine at unix:///nowhere.sock",
        trailing=(("ledger-answered", "1"),),
    )
    message = errors.rpc_error_message(error, "db:50051", 30.0)
    assert message == "ledgerd at db:50051: cannot reach the Docker engine at unix:///nowhere.sock"


def test_deadline_exceeded_says_how_long_it_waited() -> None:
    error = FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED)
    message = errors.rpc_error_message(error, "db:50051", 30.0)
    assert message == "ledgerd at db:50051 did not answer within 30s"


def test_a_call_a_stopping_server_kept_cutting_says_so_and_to_try_again() -> None:
    error = FakeRpcError(grpc.StatusCode.CANCELLED, "Cancelled")
    message = errors.rpc_error_message(error, "db:50051", 30.0)
    assert message == "ledgerd at db:50051 kept cutting the call short (stopping?); try again"


def test_a_promotion_that_did_not_succeed_exits_3() -> None:
    assert errors.PromotionDidNotSucceed("x").exit_code == 3
