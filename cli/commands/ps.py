"""``ledgerctl ps``: where each service's tasks run (Convox's and Heroku's ``ps``).

ledgerd asks its runtime, live: every task of the app (a replica, ``web.2``) with the
node it runs on, its state, its release, its port, how long it has been in that state,
and, for one that failed, why. Tasks that ended lately stay listed while the runtime
keeps them, so a crashed replica shows with its exit code. The ``record`` runtime runs
nothing: its apps have no tasks.
"""

from __future__ import annotations

import click

from cli import render, views
from cli.context import Session
from cli.options import app_option, json_option, pass_session


@click.command("ps")
@app_option
@json_option
@click.argument("app", required=False, metavar="[APP]")
@pass_session
def ps(session: Session, app: str | None) -> None:
    """Show where each service's tasks run: node, state, release.

    APP defaults to -a or $LEDGER_APP. Tasks are listed by service, then replica, newest
    first: those running or starting, and those that ended lately (a failed one with its
    error).
    """
    tasks = session.client.list_tasks(app or session.require_app())
    now = session.now()
    session.emit([render.task(t) for t in tasks], lambda: views.tasks_table(tasks, now))
