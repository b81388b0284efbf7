"""How ``ledgerctl watch`` rides out a lost server: the reconnection policy alone.

The happy paths and a real restart of ledgerd are in tests/integration/cli/test_watch.py;
a ten-minute outage is not, so the clock and the pauses are injected here.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import grpc
import pytest

from cli.commands.events import WATCH_MAX_RETRY_DELAY, WATCH_PATIENCE, Follower
from cli.context import Session
from ledger_api.v1 import ledger_pb2 as pb


class Status(grpc.RpcError):  # type: ignore[misc]
    """A failed call's error as grpc raises it: an RpcError with a status code."""

    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(code.name)
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


class Server:
    """Answers ``answers`` watches with one event each and ends them with ``code``, then
    fails every later watch with ``code`` (or ``then``) at once."""

    def __init__(
        self,
        code: grpc.StatusCode,
        answers: int = 1,
        then: grpc.StatusCode | None = None,
    ) -> None:
        self.code = code
        self.answers = answers
        self.then = then or code
        self.opened_after: list[int | None] = []

    def watch_events(self, from_position: int | None, app: str) -> Iterator[pb.WatchEventsResponse]:
        self.opened_after.append(from_position)
        if not self.answers:
            raise Status(self.then)
        self.answers -= 1
        position = 7 * len(self.opened_after)
        event = pb.Event(position=position, type="EnvChanged", app="web")
        yield pb.WatchEventsResponse(events=[event], head_position=position)
        raise Status(self.code)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def following(server: Server) -> tuple[Follower, Session, Clock]:
    clock = Clock()
    session = Session(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ={},
        host="ledger.example:50051",
        json=True,
        sleep=clock.sleep,
        clock=lambda: clock.now,
    )
    session._client = server  # type: ignore[assignment]
    return Follower(session, 0), session, clock


def test_a_watch_that_never_reached_the_server_fails_at_once() -> None:
    follower, _, clock = following(Server(grpc.StatusCode.UNAVAILABLE, answers=0))

    with pytest.raises(Status):
        follower.run()

    assert clock.pauses == []


def test_an_outage_longer_than_the_patience_ends_the_watch_with_the_servers_error() -> None:
    server = Server(grpc.StatusCode.UNAVAILABLE)
    follower, session, clock = following(server)

    with pytest.raises(Status):
        follower.run()

    assert clock.now >= WATCH_PATIENCE
    assert max(clock.pauses) == WATCH_MAX_RETRY_DELAY
    assert set(server.opened_after[1:]) == {7}  # every attempt resumes after the last event
    assert session.stderr.getvalue() == (  # type: ignore[attr-defined]
        "ledgerctl watch: lost ledger.example:50051; reconnecting to resume after position 7\n"
    )


def test_a_stream_cut_by_the_server_is_resumed_like_a_lost_one() -> None:
    server = Server(grpc.StatusCode.CANCELLED, answers=2)
    follower, _, _ = following(server)

    with pytest.raises(Status):
        follower.run()

    assert server.opened_after[:3] == [0, 7, 14]


def test_a_refusal_ends_the_watch_without_retrying() -> None:
    follower, _, clock = following(Server(grpc.StatusCode.PERMISSION_DENIED))

    with pytest.raises(Status):
        follower.run()

    assert clock.pauses == []


def test_a_watcher_cut_for_falling_behind_reads_on_from_its_last_event_at_once() -> None:
    server = Server(
        grpc.StatusCode.RESOURCE_EXHAUSTED, answers=2, then=grpc.StatusCode.PERMISSION_DENIED
    )
    follower, session, clock = following(server)

    with pytest.raises(Status):
        follower.run()

    assert (server.opened_after, clock.pauses) == ([0, 7, 14], [])
    assert session.stderr.getvalue().splitlines() == [  # type: ignore[attr-defined]
        "ledgerctl watch: fell behind; resuming after position 7",
        "ledgerctl watch: fell behind; resuming after position 14",
    ]


def test_a_watch_refused_for_its_rate_at_the_start_is_not_retried() -> None:
    follower, _, clock = following(Server(grpc.StatusCode.RESOURCE_EXHAUSTED, answers=0))

    with pytest.raises(Status):
        follower.run()

    assert clock.pauses == []
