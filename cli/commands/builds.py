"""``ledgerctl build``, ``deploy`` and ``builds``: make builds, deploy them, inspect them."""

from __future__ import annotations

import click

from cli import render, views
from cli.context import Session
from cli.options import app_option, json_option, limit_option, pass_session, wait_options
from cli.waiting import check_build, check_promotion, wait_for_build, wait_for_promotion
from ledger_api.v1 import ledger_pb2 as pb

_DIRECTORY_BUILDS = (
    "building from a directory arrives with the Docker runtime; for now use --image REF"
)


def _run_build(
    session: Session, directory: str | None, image: str | None, description: str
) -> pb.Build:
    if directory is not None:
        raise click.UsageError(_DIRECTORY_BUILDS)
    if not image:
        raise click.UsageError("give the image to build from: --image REF")
    app = session.require_app()
    build = session.client.create_build(app, image=image, description=description)
    return wait_for_build(session, build)


def _build_lines(build: pb.Build) -> str:
    line = f"build    {build.id} {build.status}"
    if build.error:
        line += f": {build.error}"
    return line + f"\nrelease  {build.release_id or '-'}"


@click.command("build")
@app_option
@json_option
@click.argument("directory", metavar="[DIR]", required=False)
@click.option("--image", metavar="REF", help="Build from this image reference.")
@click.option("-d", "--description", default="", help="Why this build exists.")
@click.option("--id", "id_only", is_flag=True, help="Print only the release id (for scripts).")
@pass_session
def build(
    session: Session,
    directory: str | None,
    image: str | None,
    description: str,
    id_only: bool,
) -> None:
    """Build an image into a new release.

    Prints the build id and the id of the release it created (not promoted).
    """
    result = _run_build(session, directory, image, description)
    if id_only:
        if result.status == "succeeded" and result.release_id:
            session.out(result.release_id)
    else:
        data = {"build": render.build(result), "release_id": result.release_id or None}
        session.emit(data, lambda: _build_lines(result))
    check_build(result)


@click.command("deploy")
@app_option
@json_option
@click.argument("directory", metavar="[DIR]", required=False)
@click.option("--image", metavar="REF", help="Build from this image reference.")
@click.option("-d", "--description", default="", help="Why this deploy happens.")
@wait_options
@pass_session
def deploy(
    session: Session,
    directory: str | None,
    image: str | None,
    description: str,
    wait: bool,
    timeout: int | None,
) -> None:
    """Build, then promote the release the build created."""
    result = _run_build(session, directory, image, description)
    if result.status != "succeeded":
        session.emit(
            {"build": render.build(result), "promotion": None}, lambda: _build_lines(result)
        )
    release_id = check_build(result)
    if not session.json:
        session.out(_build_lines(result))
    promotion = session.client.promote(
        result.app, release_id, deadline_seconds=timeout or 0, description=description
    )
    if wait:
        promotion = wait_for_promotion(session, promotion)
    session.emit(
        {"build": render.build(result), "promotion": render.promotion(promotion)},
        lambda: views.promotion_line(promotion),
    )
    if wait:
        check_promotion(promotion)


@click.group("builds", invoke_without_command=True)
@app_option
@json_option
@limit_option()
@pass_session
def builds(session: Session, limit: int) -> None:
    """List builds, or inspect one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    items = session.client.list_builds(session.require_app(), limit)
    session.emit([render.build(b) for b in items], lambda: views.builds_table(items))


@builds.command("info")
@app_option
@json_option
@click.argument("build_id", metavar="BUILD")
@pass_session
def builds_info(session: Session, build_id: str) -> None:
    """Show one build (with -a, it must belong to that app)."""
    item = session.client.get_build(session.app or "", build_id)
    session.emit(render.build(item), lambda: views.build_block(item))


@builds.command("logs")
@app_option
@click.argument("build_id", metavar="BUILD")
@pass_session
def builds_logs(session: Session, build_id: str) -> None:
    """Write a build's logs to stdout, following them while the build runs."""
    for data in session.client.build_logs(session.require_app(), build_id):
        session.write_bytes(data)
