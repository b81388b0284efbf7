"""``ledgerctl rack``: the service itself (for now, the versions it ran)."""

from __future__ import annotations

import click

from cli import render
from cli.context import Session
from cli.options import json_option, pass_session
from cli.tables import table, when


@click.group("rack")
def rack() -> None:
    """The Deploy Ledger service itself."""


@rack.command("releases")
@json_option
@pass_session
def rack_releases(session: Session) -> None:
    """The versions ledgerd ran, newest first: each from its start until the next start of
    another version ("-": still running). A return to an earlier version is a row of its own."""
    items = session.client.rack_releases()
    rows = [[r.version, when(r, "started_at"), when(r, "until"), str(r.position)] for r in items]
    session.emit(
        [render.rack_release(r) for r in items],
        lambda: table(["VERSION", "STARTED", "UNTIL", "POSITION"], rows, right=[3]),
    )
