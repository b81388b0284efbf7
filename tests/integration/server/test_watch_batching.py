"""WatchEvents under load: a batch is encoded once for all watchers, a busy stream sends
batched responses, and every event still arrives exactly once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest

from ledger.views import EventView
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import Backend
from server.grpc.watch import MAX_EVENTS_PER_RESPONSE, EventMessages, StreamEnded, Watch
from server.infra.broadcast import Broadcaster

BUSY_PACE = 0.05  # seconds: long enough for a batch to queue up while the stream waits


class CountingMessages(EventMessages):
    """Counts how many times a run of events is encoded."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[list[int]] = []

    def encode(self, events: Iterable[EventView]) -> bytes:
        events = list(events)
        self.encoded.append([event.position for event in events])
        return super().encode(events)


def test_many_watchers_of_a_batch_receive_identical_bytes_encoded_once() -> None:
    async def scenario() -> tuple[list[bytes], list[list[int]]]:
        broadcaster = _bound(Broadcaster())
        messages = CountingMessages()
        streams = [_watch(broadcaster, messages) for _ in range(20)]
        for stream in streams:
            await _until_live(stream)
        broadcaster.publish([_event(1), _event(2), _event(3)])
        await asyncio.sleep(0)
        return [await anext(stream) for stream in streams], messages.encoded

    responses, encoded = asyncio.run(scenario())

    assert len(set(responses)) == 1
    assert _positions(responses[0]) == [1, 2, 3]
    assert encoded == [[1, 2, 3]]


def test_a_busy_stream_receives_batched_responses_with_every_event_once_in_order() -> None:
    async def scenario() -> list[bytes]:
        broadcaster = _bound(Broadcaster(max_batches=2_000))
        stream = _watch(broadcaster, EventMessages(), pace=BUSY_PACE)
        await _until_live(stream)
        broadcaster.publish([_event(1)])
        await asyncio.sleep(0)
        first = await anext(stream)
        for position in range(2, 1_200):  # one batch per commit, each fanned out alone
            broadcaster.publish([_event(position)])
            await asyncio.sleep(0)
        return [first, *[await anext(stream) for _ in range(3)]]

    responses = asyncio.run(scenario())

    assert [_positions(response) for response in responses] == [
        [1],
        list(range(2, 502)),
        list(range(502, 1_002)),
        list(range(1_002, 1_200)),
    ]
    assert all(len(_positions(r)) <= MAX_EVENTS_PER_RESPONSE for r in responses)


def test_a_paced_stream_sends_an_event_after_a_quiet_spell_on_its_own() -> None:
    async def scenario() -> list[list[int]]:
        broadcaster = _bound(Broadcaster())
        stream = _watch(broadcaster, EventMessages(), pace=BUSY_PACE)
        await _until_live(stream)
        received = []
        for position in (1, 2, 3):
            broadcaster.publish([_event(position)])
            received.append(_positions(await anext(stream)))
        return received

    assert asyncio.run(scenario()) == [[1], [2], [3]]


def test_a_live_batch_overlapping_the_backlog_is_sent_without_the_events_already_sent() -> None:
    async def scenario() -> list[int]:
        broadcaster = _bound(Broadcaster())
        backlog = [_event(1), _event(2), _event(3)]

        def read_backlog(*_: Any, after_position: int, **__: Any) -> list[EventView]:
            # Committed and published while the backlog is read: seen by both.
            broadcaster.publish([_event(2), _event(3), _event(4)])
            return [event for event in backlog if event.position > after_position]

        stream = _watch(broadcaster, EventMessages(), backlog=read_backlog)
        positions: list[int] = []
        while 4 not in positions:
            positions += _positions(await anext(stream))
        return positions

    assert asyncio.run(scenario()) == [1, 2, 3, 4]


def test_a_watcher_of_one_app_receives_only_that_apps_events_once() -> None:
    async def scenario() -> list[int]:
        broadcaster = _bound(Broadcaster())
        stream = _watch(broadcaster, EventMessages(), app="web")
        await _until_live(stream)
        broadcaster.publish([_event(1, "web"), _event(2, "api"), _event(3, "web")])
        await asyncio.sleep(0)
        return _positions(await anext(stream))

    assert asyncio.run(scenario()) == [1, 3]


def test_a_paced_watcher_that_falls_behind_is_cut_with_the_position_to_resume_from() -> None:
    async def scenario() -> StreamEnded:
        broadcaster = _bound(Broadcaster(max_batches=3))
        stream = _watch(broadcaster, EventMessages(), pace=BUSY_PACE)
        await _until_live(stream)
        broadcaster.publish([_event(1)])
        await asyncio.sleep(0)
        assert _positions(await anext(stream)) == [1]
        for position in range(2, 10):  # more batches than it may hold
            broadcaster.publish([_event(position)])
            await asyncio.sleep(0)
        with pytest.raises(StreamEnded) as ended:
            await anext(stream)
        return ended.value

    ended = asyncio.run(scenario())

    assert ended.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "resume from position 1" in ended.message


def test_a_stopping_server_ends_a_paced_stream_after_what_it_had_queued() -> None:
    async def scenario() -> tuple[list[int], StreamEnded]:
        broadcaster = _bound(Broadcaster())
        stream = _watch(broadcaster, EventMessages(), pace=BUSY_PACE)
        await _until_live(stream)
        broadcaster.publish([_event(1)])
        await asyncio.sleep(0)
        broadcaster.close()
        last = _positions(await anext(stream))
        with pytest.raises(StreamEnded) as ended:
            await anext(stream)
        return last, ended.value

    last, ended = asyncio.run(scenario())

    assert last == [1]
    assert ended.code == grpc.StatusCode.UNAVAILABLE
    assert "resume from position 1" in ended.message


def _bound(broadcaster: Broadcaster) -> Broadcaster:
    broadcaster.bind(asyncio.get_running_loop())
    return broadcaster


def _watch(
    broadcaster: Broadcaster,
    messages: EventMessages,
    pace: float | None = None,
    app: str = "",
    backlog: Callable[..., list[EventView]] | None = None,
) -> AsyncIterator[bytes]:
    async def run(function: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    queries = SimpleNamespace(events=backlog or (lambda *_, **__: []))
    backend = cast(Backend, SimpleNamespace(broadcaster=broadcaster, queries=queries, run=run))
    return Watch(backend, messages, after=0, app=app, pace=pace).responses()


async def _until_live(stream: AsyncIterator[bytes]) -> None:
    while _positions(await anext(stream)):
        pass  # the backlog: the first response without events says it is live


def _positions(response: bytes) -> list[int]:
    return [event.position for event in pb.WatchEventsResponse.FromString(response).events]


def _event(position: int, app: str = "web") -> EventView:
    return EventView(position, "EnvChanged", app, "tester", datetime.now(UTC), "", {"n": 1})
