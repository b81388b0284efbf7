"""What every group of the client's calls stands on: the transport, the stubs, paging.

Apart from :class:`~cli.client.LedgerClient` so that its groups of calls (in it, and in
:mod:`cli.client_events` and :mod:`cli.client_keys`) share one way to reach the server:
stubs made on first use over the transport's channel, and lists read page by page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from cli.transport import Transport
from ledger_api.v1 import ledger_pb2_grpc

T = TypeVar("T")
MAX_PAGE_SIZE = 100


def paginate(fetch: Callable[[int, str], tuple[Sequence[T], str]], limit: int) -> list[T]:
    """Fetch pages until ``limit`` items or the end (an empty next token).

    ``fetch(page_size, page_token)`` returns one page and the next token.
    """
    items: list[T] = []
    token = ""
    seen_tokens: set[str] = set()
    while len(items) < limit:
        page, token = fetch(min(MAX_PAGE_SIZE, limit - len(items)), token)
        items.extend(page)
        if not token or token in seen_tokens:
            break
        seen_tokens.add(token)
    return items[:limit]


class ClientBase:
    """The transport and the generated stubs over its channel, each made on first use."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._stub: ledger_pb2_grpc.LedgerStub | None = None
        self._keys: ledger_pb2_grpc.KeysStub | None = None

    @property
    def stub(self) -> ledger_pb2_grpc.LedgerStub:
        if self._stub is None:
            self._stub = ledger_pb2_grpc.LedgerStub(self.transport.channel)
        return self._stub

    @property
    def keys_stub(self) -> ledger_pb2_grpc.KeysStub:
        if self._keys is None:
            self._keys = ledger_pb2_grpc.KeysStub(self.transport.channel)
        return self._keys
