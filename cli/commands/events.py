"""``ledgerctl history`` and ``watch``: read the global event log, past and live."""

from __future__ import annotations

import click
import grpc

from cli import parsing, render
from cli.context import Session
from cli.errors import status_code
from cli.options import app_option, json_option, limit_option, pass_session
from cli.tables import MISSING, clean, table, when
from ledger_api.v1 import ledger_pb2 as pb

HISTORY_LIMIT = 50
WATCH_PATIENCE = 600.0  # seconds a dropped watch keeps trying to reach ledgerd again
WATCH_RETRY_DELAY = 0.5  # seconds before the first retry of an outage; doubles
WATCH_MAX_RETRY_DELAY = 2.0
# A stream that was up and ends with these is resumed: the server went away, or cut it
# (a recycled connection, a shutdown); ledgerctl itself never cancels a watch.
RESUMABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})


def _data_text(event: pb.Event) -> str:
    data = render.event_data(event.data)
    return data if isinstance(data, str) else render.dumps(data, compact=True)


def _event_cells(event: pb.Event) -> list[str]:
    return [
        str(event.position),
        when(event, "time"),
        event.app or MISSING,
        event.type,
        event.actor or MISSING,
        _data_text(event),
    ]


@click.command("history")
@app_option
@json_option
@click.option("--since", metavar="T", help="From T: RFC 3339, or a duration ago (15m, 2h, 3d).")
@click.option("--until", metavar="T", help="Up to T: RFC 3339, or a duration ago.")
@click.option(
    "--type", "types", metavar="TYPE", multiple=True, help="Only events of TYPE (repeatable)."
)
@limit_option(HISTORY_LIMIT)
@pass_session
def history(
    session: Session, since: str | None, until: str | None, types: tuple[str, ...], limit: int
) -> None:
    """Show the event log: who did what, when.

    The newest events matching (at most --limit), printed oldest first; -a filters by app.
    """
    now = session.now()
    start = parsing.point_in_time(since, now) if since is not None else None
    end = parsing.point_in_time(until, now) if until is not None else None
    if start is not None and end is not None and start > end:
        raise click.UsageError(f"--since {since} is after --until {until}")
    request = pb.ListEventsRequest(app=session.app or "", types=list(types), newest_first=True)
    if start is not None:
        request.since.CopyFrom(render.to_timestamp(start))
    if end is not None:
        request.until.CopyFrom(render.to_timestamp(end))
    items = list(reversed(session.client.list_events(request, limit)))
    session.emit(
        [render.event(e) for e in items],
        lambda: table(
            ["POSITION", "TIME", "APP", "TYPE", "ACTOR", "DATA"],
            [_event_cells(e) for e in items],
            right=[0],
        ),
    )


@click.command("watch")
@app_option
@json_option
@click.option(
    "--from",
    "from_position",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Replay from after log position N (0: the whole log) first; default: only new events.",
)
@pass_session
def watch(session: Session, from_position: int | None) -> None:
    """Follow the event log live.

    One line per event (JSON Lines with --json); Ctrl-C ends it. A dropped
    connection, or a stream cut because this watch fell behind, is resumed after
    the last event printed: through a restart of ledgerd it keeps trying for up to
    10 minutes, saying on stderr when it lost and regained the server.
    """
    try:
        Follower(session, from_position).run()
    except KeyboardInterrupt:
        return


class Follower:
    """Prints the watched events and resumes a dropped stream where it stopped."""

    def __init__(self, session: Session, position: int | None) -> None:
        self.session = session
        self.position = position  # the last event printed (None: start at the head)
        self.connected = False  # a stream was up once: later failures are outages
        self.lost_at: float | None = None  # since when the server has been unreachable
        self.delay = WATCH_RETRY_DELAY

    def run(self) -> None:
        while True:
            received = False
            try:
                for response in self.session.client.watch_events(
                    self.position, self.session.app or ""
                ):
                    received = True
                    self._reached()
                    self._print(response)
            except grpc.RpcError as error:
                if received and status_code(error) == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    # Cut for falling behind the live log: what it missed is stored, so
                    # reading on from the last event printed loses nothing.
                    self.session.err(
                        f"ledgerctl watch: fell behind; resuming after position {self.position}"
                    )
                    continue
                if not self.connected or status_code(error) not in RESUMABLE:
                    raise
                if not received:  # the transport's own retries to open it failed too
                    self._wait(error)
                continue
            if not received:
                return  # the server ended the watch without sending anything

    def _print(self, response: pb.WatchEventsResponse) -> None:
        if self.position is None:
            self.position = response.head_position
        for event in response.events:
            _print_event(self.session, event)
            self.position = max(self.position, event.position)

    def _reached(self) -> None:
        self.connected = True
        if self.lost_at is not None:
            self.lost_at = None
            self.delay = WATCH_RETRY_DELAY
            self.session.err("ledgerctl watch: reconnected")

    def _wait(self, error: grpc.RpcError) -> None:
        """Sleep before the next attempt; give up (re-raise) once out of patience."""
        now = self.session.clock()
        if self.lost_at is None:
            self.lost_at = now
            self.session.err(
                f"ledgerctl watch: lost {self.session.host}; reconnecting "
                f"to resume after position {self.position or 0}"
            )
        elif now - self.lost_at >= WATCH_PATIENCE:
            raise error
        self.session.sleep(self.delay)
        self.delay = min(self.delay * 2, WATCH_MAX_RETRY_DELAY)


def _print_event(session: Session, event: pb.Event) -> None:
    if session.json:
        session.out(render.dumps(render.event(event), compact=True))
    else:
        session.out(clean("  ".join(_event_cells(event))))
