"""``ledgerctl apps``: list, create and inspect apps, including "what was live then"."""

from __future__ import annotations

import click

from cli import metrics, parsing, render, time_travel, views
from cli.context import Session
from cli.options import json_option, limit_option, pass_session
from cli.tables import key_values, version, when
from ledger_api.v1 import ledger_pb2 as pb


@click.group(invoke_without_command=True)
@json_option
@limit_option()
@pass_session
def apps(session: Session, limit: int) -> None:
    """List apps, or create and inspect one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    items = session.client.list_apps(limit)
    session.emit([render.app(a) for a in items], lambda: views.apps_table(items))


_DEADLINE = click.option(
    "--timeout",
    "deadline",
    type=click.IntRange(min=0),
    metavar="SECONDS",
    help="Deadline of the app's promotions (0: the server's default, 600 s).",
)


@apps.command("create")
@json_option
@click.argument("name")
@_DEADLINE
@pass_session
def apps_create(session: Session, name: str, deadline: int | None) -> None:
    """Create the app NAME (lower-case letters, digits and -, at most 30)."""
    app = session.client.create_app(name, deadline_seconds=deadline or 0)
    session.emit(render.app(app), lambda: f"created app {app.name}")


@apps.command("update")
@json_option
@click.argument("name")
@_DEADLINE
@pass_session
def apps_update(session: Session, name: str, deadline: int | None) -> None:
    """Change the settings of the app NAME."""
    if deadline is None:
        raise click.UsageError("nothing to change: give --timeout SECONDS")
    app = session.client.update_app(name, deadline_seconds=deadline)
    session.emit(render.app(app), lambda: f"updated app {app.name}")


@apps.command("info")
@json_option
@click.argument("name")
@click.option(
    "--at",
    "at",
    metavar="X",
    help="Show what was live as of X: a log position (integer), an RFC 3339 time, or a "
    "duration ago (2h): the release active then, the releases that existed, the "
    "activations before and after, and the app's last events up to then.",
)
@pass_session
def apps_info(session: Session, name: str, at: str | None) -> None:
    """Show the app NAME and its active release (now, or as of --at X)."""
    asked = parsing.as_of(at, session.now()) if at is not None else None
    app = session.client.get_app(name)
    if at is None or asked is None:
        _info_now(session, app)
        return
    then = session.client.get_app_at(name, position=asked.position, time=asked.time)
    data = render.app(app)
    data["active_release"] = render.optional_release(then, "release")
    # The whole answer is "as of X": the active release id too.
    data["active_release_id"] = then.release.id if then.HasField("release") else None
    data["as_of_position"] = then.position
    data["as_of_time"] = render.format_time(asked.time) if asked.time else None
    data["at"] = time_travel.as_json(then)
    session.emit(data, lambda: views.app_block(app) + "\n\n" + time_travel.human(then, at))


def _info_now(session: Session, app: pb.App) -> None:
    active = session.client.get_active_release(app.name)
    data = render.app(app)
    data["active_release"] = render.optional_release(active, "release")
    data["as_of_position"] = active.position
    data["as_of_time"] = None

    def human() -> str:
        if active.HasField("release"):
            r = active.release
            release = f"{version(r.version)} {r.id} (build {r.build_id or '-'})"
        else:
            release = "none"
        pairs = [("Active release", release), ("Log position", str(active.position))]
        if active.HasField("release"):
            pairs.insert(1, ("Activated", when(active.release, "last_activated_at")))
        return views.app_block(app) + "\n\n" + key_values(pairs)

    session.emit(data, human)


@apps.command("metrics")
@json_option
@click.argument("name", required=False, default="")
@click.option(
    "--period",
    type=click.Choice(["day", "week", "all"]),
    default="day",
    show_default=True,
    help="Cut the window into UTC days, weeks (from Monday), or show it whole.",
)
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="The window: the last N days (0: 30 for day, 84 for week, all time for all).",
)
@pass_session
def apps_metrics(session: Session, name: str, period: str, days: int) -> None:
    """Show the DORA metrics of the app NAME (without NAME: of every app the key may
    read): deployment frequency, lead time, change failure rate, time to restore."""
    found = session.client.get_deploy_metrics(name, period=period, days=days)
    session.emit(metrics.as_json(found), lambda: metrics.human(found))
