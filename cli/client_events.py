"""The client's calls reading the event log: page by page with filters, or followed live.

Apart from :class:`~cli.client.LedgerClient` (which inherits them) because they read the
log itself rather than one app's state: ``ledgerctl history`` pages through it with the
caller's filters, and ``watch`` follows it with no deadline until the user stops it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cli.client_base import ClientBase, paginate
from ledger_api.v1 import ledger_pb2 as pb


class EventCalls(ClientBase):
    """Typed calls of the event RPCs of Ledger, with the transport's rules."""

    # ------------------------------------------------------------------ events

    def list_events(self, request: pb.ListEventsRequest, limit: int) -> list[pb.Event]:
        """Events matching ``request``'s filters in its order, at most ``limit``."""

        def fetch(size: int, token: str) -> tuple[Sequence[pb.Event], str]:
            page_request = pb.ListEventsRequest()
            page_request.CopyFrom(request)
            page_request.page_size = size
            page_request.page_token = token
            page = self.transport.unary(self.stub.ListEvents, page_request, pb.ListEventsResponse)
            return page.events, page.next_page_token

        return paginate(fetch, limit)

    def watch_events(self, from_position: int | None, app: str) -> Iterator[pb.WatchEventsResponse]:
        """Events after ``from_position`` (None: from the log's head), then live; no
        deadline (it ends when the user stops it)."""
        request = pb.WatchEventsRequest(
            from_position=from_position or 0, app=app, from_head=from_position is None
        )
        for response in self.transport.stream(self.stub.WatchEvents, request, timeout=None):
            assert isinstance(response, pb.WatchEventsResponse)
            yield response
