"""What every request carries, and what happens when an answer does not arrive."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from cli.client import LedgerClient
from cli.transport import Transport
from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl
from tests.support.ledgerd import InProcessLedgerd

pytestmark = SQLITE_ONLY


def test_every_event_a_command_records_names_the_signed_in_key_as_the_actor(
    web: Ledgerctl,
) -> None:
    web.ok("env", "set", "A=1")
    web.ok("build", "--image", "web:1")
    key = web.ok("--json", "whoami").json

    events = web.history()

    assert {event["type"] for event in events} >= {"AppCreated", "EnvChanged", "BuildCreated"}
    assert {event["actor"] for event in events} == {f"{key['name']} ({key['id']})"}


def test_each_command_sends_a_fresh_request_id_so_two_identical_builds_make_two_releases(
    web: Ledgerctl,
) -> None:
    web.ok("build", "--image", "web:1")
    web.ok("build", "--image", "web:1")

    request_ids = [event["request_id"] for event in web.history("--type", "BuildCreated")]

    assert len(web.ok("--json", "releases").json) == 2
    assert len(set(request_ids)) == 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in request_ids)


class AnswerLost(grpc.RpcError):  # type: ignore[misc]
    """UNAVAILABLE after ledgerd acted: the connection dropped before its answer came."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "connection reset"


class LoseTheFirstAnswer(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
):
    """Lets every call reach ledgerd, but drops the answer to the first one."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return self._send(continuation, details, request, request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        messages = list(requests)
        return self._send(continuation, details, iter(messages), messages[0])

    def _send(self, continuation: Any, details: Any, sent: Any, first_message: Any) -> Any:
        self.requests.append(first_message)
        outcome = continuation(details, sent)
        if len(self.requests) == 1:
            outcome.result()  # ledgerd has acted on it
            raise AnswerLost()
        return outcome


class TransportOver(Transport):
    """The CLI's transport (metadata, deadlines, retries) over a given channel."""

    def __init__(self, channel: grpc.Channel, **settings: Any) -> None:
        super().__init__(**settings)
        self._given = channel

    @property
    def channel(self) -> grpc.Channel:
        return self._given


@pytest.fixture
def lossy_client(ledgerd: InProcessLedgerd) -> Iterator[tuple[LedgerClient, LoseTheFirstAnswer]]:
    """The CLI's client to the real ledgerd, over a channel that loses the first answer."""
    lose = LoseTheFirstAnswer()
    with grpc.insecure_channel(ledgerd.address) as channel:
        lossy = grpc.intercept_channel(channel, lose)
        transport = TransportOver(
            lossy, host=ledgerd.address, token=ledgerd.token, sleep=lambda _: None
        )
        yield LedgerClient(transport), lose


def test_a_create_whose_answer_was_lost_is_sent_again_with_the_same_request_id_and_recorded_once(
    lossy_client: tuple[LedgerClient, LoseTheFirstAnswer], ledgerctl: Ledgerctl
) -> None:
    client, lose = lossy_client

    app = client.create_app("api")

    assert app.name == "api"
    first, second = lose.requests
    assert isinstance(first, pb.CreateAppRequest)
    assert first.request_id and first.request_id == second.request_id
    created = ledgerctl.history("-a", "api", "--type", "AppCreated")
    assert [event["request_id"] for event in created] == [first.request_id]


def test_a_build_whose_answer_was_lost_is_sent_again_and_makes_one_build_and_one_release(
    lossy_client: tuple[LedgerClient, LoseTheFirstAnswer], web: Ledgerctl
) -> None:
    client, lose = lossy_client

    build = client.create_build("web", image="web:1", description="")

    first, second = (message.metadata.request_id for message in lose.requests)
    assert first and first == second
    assert [b["id"] for b in web.ok("--json", "builds").json] == [build.id]
    assert [r["id"] for r in web.ok("--json", "releases").json] == [build.release_id]


def test_a_stopped_ledgerd_is_reported_unreachable_with_exit_4(
    ledgerd: InProcessLedgerd, ledgerctl: Ledgerctl
) -> None:
    ledgerd.stop()

    result = ledgerctl("apps")

    assert (result.code, result.stdout) == (4, "")
    assert result.stderr == f"ledgerctl: error: cannot reach ledgerd at {ledgerd.address}\n"
