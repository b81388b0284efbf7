"""``ledgerctl releases``: list, inspect, compare, promote and roll back releases."""

from __future__ import annotations

import click

from cli import render, views
from cli.context import Session
from cli.errors import CliError
from cli.options import (
    app_option,
    json_option,
    limit_option,
    pass_session,
    queue_option,
    wait_options,
)
from cli.tables import MISSING, version
from cli.waiting import check_promotion, wait_for_promotion
from ledger_api.v1 import ledger_pb2 as pb


@click.group("releases", invoke_without_command=True)
@app_option
@json_option
@limit_option()
@pass_session
def releases(session: Session, limit: int) -> None:
    """List releases (* = active), or act on one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    items = session.client.list_releases(session.require_app(), limit)
    session.emit([render.release(r) for r in items], lambda: views.releases_table(items))


@releases.command("info")
@app_option
@json_option
@click.argument("release_id", metavar="RELEASE")
@click.option("--reveal", is_flag=True, help="Show env values (keys that may see them); else ***.")
@pass_session
def releases_info(session: Session, release_id: str, reveal: bool) -> None:
    """Show one release with its full environment (with -a, it must belong to that app);
    values are masked unless --reveal."""
    item = session.client.get_release(session.app or "", release_id, reveal=reveal)
    session.emit(
        render.release(item, with_env=True), lambda: views.release_block(item, with_env=True)
    )


def _diff_text(diff: pb.ReleaseDiff) -> str:
    def side(label: str, r: pb.Release) -> str:
        return f"{label}  {version(r.version)} {r.id}  build {r.build_id or MISSING}"

    lines = [side("from", diff.from_release), side("to  ", diff.to_release)]
    lines.append("build changed" if diff.build_changed else "same build")
    lines += [f"+ {k}" for k in diff.added]
    lines += [f"~ {k}" for k in diff.changed]
    lines += [f"- {k}" for k in diff.removed]
    if not (diff.added or diff.changed or diff.removed):
        lines.append("same environment")
    return "\n".join(lines)


@releases.command("diff")
@app_option
@json_option
@click.argument("from_id", metavar="R1")
@click.argument("to_id", metavar="R2")
@pass_session
def releases_diff(session: Session, from_id: str, to_id: str) -> None:
    """What changed from release R1 to R2: the build, and env keys added (+), changed (~)
    and removed (-). Values are secrets and are not shown."""
    diff = session.client.diff_releases(session.require_app(), from_id, to_id)
    session.emit(render.diff(diff), lambda: _diff_text(diff))


@releases.command("promote")
@app_option
@json_option
@click.argument("release_id", metavar="[RELEASE]", required=False, default="")
@wait_options
@queue_option
@pass_session
def releases_promote(
    session: Session, release_id: str, wait: bool, timeout: int | None, queue: bool
) -> None:
    """Make RELEASE (default: the latest release) active."""
    promotion = session.client.promote(
        session.require_app(), release_id, deadline_seconds=timeout or 0, queue=queue
    )
    if wait:
        promotion = wait_for_promotion(session, promotion)
    session.emit(render.promotion(promotion), lambda: views.promotion_line(promotion))
    if wait:
        check_promotion(promotion)


@releases.command("rollback")
@app_option
@json_option
@click.argument("release_id", metavar="RELEASE")
@wait_options
@queue_option
@pass_session
def releases_rollback(
    session: Session, release_id: str, wait: bool, timeout: int | None, queue: bool
) -> None:
    """Roll back to RELEASE: a new release with its build and env, promoted. Newer releases
    stay promotable (roll forward with `releases promote`)."""
    response = session.client.rollback(
        session.require_app(), release_id, deadline_seconds=timeout or 0, queue=queue
    )
    promotion = response.promotion
    if wait and response.HasField("promotion"):
        promotion = wait_for_promotion(session, promotion)
    data = {
        "release": render.optional_release(response, "release"),
        "promotion": render.promotion(promotion) if response.HasField("promotion") else None,
    }

    def human() -> str:
        lines = [f"{views.release_line(response.release)} (rollback to {release_id})"]
        if response.HasField("promotion"):
            lines.append(views.promotion_line(promotion))
        return "\n".join(lines)

    session.emit(data, human)
    if wait:
        if not response.HasField("promotion"):
            raise CliError("ledgerd started no promotion for the rollback")
        check_promotion(promotion)
