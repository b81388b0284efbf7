"""WatchEvents fan-out: slow watchers are cut off with a resume point; many watchers are cheap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import grpc
import pytest

from ledger.views import EventView
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.backend import Backend
from server.grpc.watch import EventMessages, StreamEnded, Watch
from server.infra.broadcast import Broadcaster
from tests.integration.server.helpers import create_app
from tests.support.auth import bearer
from tests.support.ledgerd import InProcessLedgerd

WATCHERS = 500


def test_a_watcher_too_slow_for_its_queue_is_ended_with_resource_exhausted_and_its_position() -> (
    None
):
    async def scenario() -> StreamEnded:
        broadcaster = Broadcaster(max_batches=2)
        broadcaster.bind(asyncio.get_running_loop())
        responses = Watch(
            _backend_without_backlog(broadcaster), EventMessages(), after=0, app=""
        ).responses()
        assert not _decoded(await anext(responses)).events  # backlog done: live now
        broadcaster.publish([_event(1)])
        await asyncio.sleep(0)
        assert [event.position for event in _decoded(await anext(responses)).events] == [1]
        for position in (2, 3, 4):  # the watcher reads nothing meanwhile
            broadcaster.publish([_event(position)])
            await asyncio.sleep(0)  # each batch fanned out on its own
        with pytest.raises(StreamEnded) as ended:
            await anext(responses)
        return ended.value

    ended = asyncio.run(scenario())

    assert ended.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "resume from position 1" in ended.message


@pytest.mark.parametrize("ledgerd_settings", ["sqlite"], indirect=True)
def test_five_hundred_watchers_all_receive_a_live_event(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client, "first")

    async def watch_all() -> list[list[str]]:
        async with grpc.aio.insecure_channel(ledgerd.address) as channel:
            stub = LedgerStub(channel)
            signed_in = bearer(ledgerd.token)
            streams = [
                stub.WatchEvents(pb.WatchEventsRequest(), timeout=60, metadata=signed_in)
                for _ in range(WATCHERS)
            ]
            await asyncio.gather(*(_until_live(stream) for stream in streams))
            assert ledgerd.container.broadcaster.watcher_count() == WATCHERS
            await asyncio.to_thread(create_app, ledgerd_client, "second")
            seen = await asyncio.gather(*(_until_app(stream, "second") for stream in streams))
            for stream in streams:
                stream.cancel()
            await _until(lambda: ledgerd.container.broadcaster.watcher_count() == 0)
            return seen

    started = time.monotonic()
    seen = asyncio.run(watch_all())

    assert all(apps == ["second"] for apps in seen)
    assert time.monotonic() - started < 30


async def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Cancelled watchers must free their server-side subscription promptly."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "watchers were not released"
        await asyncio.sleep(0.05)


async def _until_live(stream: Any) -> None:
    async for response in stream:
        if not response.events:
            return


async def _until_app(stream: Any, app: str) -> list[str]:
    async for response in stream:
        apps = [event.app for event in response.events if event.type == "AppCreated"]
        if app in apps:
            return apps
    return []


def _backend_without_backlog(broadcaster: Broadcaster) -> Backend:
    async def run(function: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    queries = SimpleNamespace(events=lambda *_, **__: [])
    return cast(Backend, SimpleNamespace(broadcaster=broadcaster, queries=queries, run=run))


def _decoded(response: bytes) -> pb.WatchEventsResponse:
    return pb.WatchEventsResponse.FromString(response)


def _event(position: int) -> EventView:
    now = datetime.now(UTC)
    return EventView(position, "AppCreated", "web", "tester", now, "", {})
