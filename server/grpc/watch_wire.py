"""WatchEvents responses as wire bytes, so that one encoding serves every watcher.

A protobuf message's encoding is the concatenation of its fields' encodings, and a
repeated field may be split over several runs: the encoding of ``WatchEventsResponse``
is the join of encoded runs of ``events`` plus the encoded ``head_position``. A live
batch is therefore encoded once per filter (:class:`~server.infra.broadcast.Chunk`
keeps it) and each stream only joins bytes. grpc.aio serialises what a handler yields
with the method's ``response_serializer``: :func:`register_ledger` registers the Ledger
service with a WatchEvents serializer that passes bytes through.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import grpc

from ledger.views import EventView
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1 import ledger_pb2_grpc
from server.grpc import convert
from server.grpc.registration import add_generic

MESSAGE_CACHE = 20_000  # API messages of recent events, shared by the watchers
WATCH_METHOD = "WatchEvents"


class EventMessages:
    """Each event's API message, made once and shared by every watcher that sends it
    (the event loop's side only: no lock)."""

    def __init__(self, size: int = MESSAGE_CACHE) -> None:
        self.size = size
        self._messages: OrderedDict[int, pb.Event] = OrderedDict()

    def __call__(self, event: EventView) -> pb.Event:
        message = self._messages.get(event.position)
        if message is None:
            message = self._messages[event.position] = convert.event(event)
            if len(self._messages) > self.size:
                self._messages.popitem(last=False)
        return message

    def encode(self, events: Iterable[EventView]) -> bytes:
        """The ``events`` field of a response holding ``events``, as wire bytes."""
        response = pb.WatchEventsResponse()
        response.events.extend(self(event) for event in events)
        return response.SerializeToString()


@functools.lru_cache(maxsize=1)  # every live watcher sends the same head: encode it once
def head_field(head: int) -> bytes:
    """The ``head_position`` field as wire bytes (appended after the events)."""
    return pb.WatchEventsResponse(head_position=head).SerializeToString()


def raw_or_serialized(response: bytes | Any) -> bytes:
    """WatchEvents' response serializer: wire bytes as they are, messages serialised."""
    if isinstance(response, bytes):
        return response
    serialized: bytes = response.SerializeToString()
    return serialized


def register_ledger(servicer: Any, server: grpc.aio.Server) -> None:
    """Register the Ledger service (as a generic handler: :mod:`server.grpc.registration`),
    with WatchEvents' responses taken as wire bytes."""

    def watch_sends_bytes(
        handlers: dict[str, grpc.RpcMethodHandler],
    ) -> dict[str, grpc.RpcMethodHandler]:
        watch = handlers[WATCH_METHOD]
        return {**handlers, WATCH_METHOD: watch._replace(response_serializer=raw_or_serialized)}

    add_generic(ledger_pb2_grpc.add_LedgerServicer_to_server, servicer, server, watch_sends_bytes)
