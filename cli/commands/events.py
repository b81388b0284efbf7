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
    connection is resumed after the last event seen.
    """
    position = from_position
    try:
        while True:
            received = False
            try:
                for response in session.client.watch_events(position, session.app or ""):
                    received = True
                    if position is None:
                        position = response.head_position
                    for event in response.events:
                        _print_event(session, event)
                        position = max(position or 0, event.position)
            except grpc.RpcError as error:
                # Opening is retried by the transport; a stream that was up and then
                # dropped is resumed, anything else is reported.
                if not received or status_code(error) != grpc.StatusCode.UNAVAILABLE:
                    raise
                continue
            if not received:
                return  # the server ended the watch without sending anything
    except KeyboardInterrupt:
        return


def _print_event(session: Session, event: pb.Event) -> None:
    if session.json:
        session.out(render.dumps(render.event(event), compact=True))
    else:
        session.out(clean("  ".join(_event_cells(event))))
