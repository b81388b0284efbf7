"""The event log through real gRPC: idempotency, ListEvents, WatchEvents, rack history."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import grpc

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import (
    actor_of,
    all_events,
    build,
    create_app,
    new_request_id,
)
from tests.support.ledgerd import InProcessLedgerd

WATCH_TIMEOUT = 30


def test_the_same_request_id_twice_returns_the_same_result_and_records_once(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    request_id = new_request_id()
    first = build(ledgerd_client, "web", "web:1", request_id=request_id)
    after_first = all_events(ledgerd_client)

    second = build(ledgerd_client, "web", "web:1", request_id=request_id)

    assert (second.id, second.release_id) == (first.id, first.release_id)
    assert all_events(ledgerd_client) == after_first
    releases = ledgerd_client.ListReleases(pb.ListReleasesRequest(app="web")).releases
    assert len(releases) == 1


def test_events_are_listed_by_app_and_type_oldest_first(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel
) -> None:
    create_app(ledgerd_client, "web")
    create_app(ledgerd_client, "api")
    build(ledgerd_client, "web", "web:1")

    request = pb.ListEventsRequest(app="web", types=["AppCreated", "BuildSucceeded"])
    events = ledgerd_client.ListEvents(request).events

    assert [(event.type, event.app) for event in events] == [
        ("AppCreated", "web"),
        ("BuildSucceeded", "web"),
    ]
    assert events[0].actor == actor_of(ledgerd_channel)
    assert events[0].position < events[1].position


def test_watch_events_sends_the_backlog_then_live_events_without_gap_or_duplicate(
    ledgerd_client: LedgerStub,
) -> None:
    for n in range(3):
        create_app(ledgerd_client, f"before-{n}")
    writer = threading.Thread(target=_create_apps, args=(ledgerd_client, "during", 15))
    stream = ledgerd_client.WatchEvents(pb.WatchEventsRequest(), timeout=WATCH_TIMEOUT)
    writer.start()  # writes race with the backlog read
    received = _read_until(stream, lambda seen: len(seen) >= 3)
    writer.join()
    _create_apps(ledgerd_client, "after", 3)
    expected = [event.position for event in all_events(ledgerd_client)]

    received += _read_until(stream, lambda seen: bool(seen) and seen[-1] == expected[-1])
    stream.cancel()

    assert received == expected


def test_watch_events_from_a_position_with_an_app_filter_sends_only_that_app(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    start = all_events(ledgerd_client)[-1].position
    create_app(ledgerd_client, "api")
    build(ledgerd_client, "web", "web:1")
    stream = ledgerd_client.WatchEvents(
        pb.WatchEventsRequest(from_position=start, app="web"), timeout=WATCH_TIMEOUT
    )

    events: list[pb.Event] = []
    for response in stream:
        events.extend(response.events)
        if not response.events:  # the backlog is done
            break
    stream.cancel()

    assert {event.app for event in events} == {"web"}
    assert events[0].position > start
    assert "BuildSucceeded" in [event.type for event in events]


def test_the_rack_version_is_recorded_when_ledgerd_starts(ledgerd: InProcessLedgerd) -> None:
    with ledgerd.channel() as channel:
        releases = LedgerStub(channel).ListRackReleases(pb.ListRackReleasesRequest()).releases

    assert len(releases) == 1
    assert releases[0].version
    assert releases[0].position > 0


def _create_apps(client: LedgerStub, prefix: str, count: int) -> None:
    for n in range(count):
        client.CreateApp(pb.CreateAppRequest(name=f"{prefix}-{n}"))


def _read_until(
    stream: Iterator[pb.WatchEventsResponse], done: Callable[[list[int]], bool]
) -> list[int]:
    positions: list[int] = []
    for response in stream:
        positions.extend(event.position for event in response.events)
        if done(positions):
            return positions
    return positions


def test_events_newest_first_page_back_in_time(ledgerd_client: LedgerStub) -> None:
    _create_apps(ledgerd_client, "app", 4)
    oldest_first = [event.position for event in all_events(ledgerd_client)]

    first = ledgerd_client.ListEvents(pb.ListEventsRequest(newest_first=True, page_size=3))
    second = ledgerd_client.ListEvents(
        pb.ListEventsRequest(newest_first=True, page_size=3, page_token=first.next_page_token)
    )

    newest = [event.position for event in [*first.events, *second.events]]
    assert newest == list(reversed(oldest_first))[:6]


def test_watch_events_from_head_sends_only_new_events(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client, "old")
    stream = ledgerd_client.WatchEvents(
        pb.WatchEventsRequest(from_head=True), timeout=WATCH_TIMEOUT
    )
    heartbeat = next(stream)  # the (empty) backlog is done: live from here
    assert not heartbeat.events
    create_app(ledgerd_client, "new")

    events: list[pb.Event] = []
    while not events:
        events.extend(next(stream).events)
    stream.cancel()

    assert events[0].app == "new"
    assert events[0].position > heartbeat.head_position
    assert all(event.app == "new" for event in events)
