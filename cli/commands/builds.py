"""``ledgerctl build``, ``deploy`` and ``builds``: make builds, deploy them, inspect them.

A build is made from a directory (packed by :mod:`cli.source` and uploaded, its log
followed on stderr while it runs) or recorded from an existing image (``--image``).

``build --id`` and ``deploy --id`` are for CI steps (``release=$(ledgerctl deploy . --id)``):
stdout holds the release id alone, everything else (upload, build log, rollout steps) goes
to stderr, and the exit code says whether it worked (``deploy --id`` waits for the
promotion, like ``--wait``: 1 when the build failed, 3 when the rollout did not succeed).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from cli import render, views
from cli.context import Session
from cli.errors import CliError
from cli.options import app_option, json_option, limit_option, pass_session, wait_options
from cli.source import DOCKERFILE, MANIFEST, UploadProgress, pack
from cli.waiting import (
    check_build,
    check_promotion,
    follow_build_log,
    wait_for_build,
    wait_for_promotion,
    write_to_stderr,
)
from ledger_api.v1 import ledger_pb2 as pb


def _run_build(
    session: Session, directory: str | None, image: str | None, description: str
) -> pb.Build:
    """The build, once it ended: of ``--image``, else of ``directory`` (default ``.``)."""
    if image is not None and directory is not None:
        raise click.UsageError("give a directory or --image REF, not both")
    if image is not None and not image.strip():
        raise click.UsageError("--image needs an image reference")
    app = session.require_app()
    if image is not None:
        build = session.client.create_build(app, image=image, description=description)
        return wait_for_build(session, build)
    source = Path(directory or ".")
    if not source.is_dir():
        raise click.UsageError(f"{source} is not a directory")
    if not (source / DOCKERFILE).is_file() and not (source / MANIFEST).is_file():
        raise click.UsageError(f"{source} has no {DOCKERFILE} and no {MANIFEST}: nothing to build")
    session.client.get_app(app)  # an unknown app fails before the packing and the upload
    build = _upload(session, app, source, description)
    follow_build_log(session, app, build.id, write_to_stderr(session))
    return wait_for_build(session, session.client.get_build(app, build.id))


def _upload(session: Session, app: str, source: Path, description: str) -> pb.Build:
    """Pack ``source`` into a temporary file and stream it to ledgerd."""
    with tempfile.TemporaryFile(prefix="ledgerctl-source-") as tarball:
        try:
            packed = pack(source, tarball)
        except OSError as error:
            raise CliError(f"cannot pack {source}: {error}") from None
        label = f"{source} ({packed.files} files)"
        progress = UploadProgress(session.stderr, packed.size, label, clock=session.clock)
        progress.start()
        build = session.client.create_source_build(
            app,
            tarball,
            size=packed.size,
            digest=packed.digest,
            description=description,
            progress=progress,
        )
        progress.done()
    return build


def _build_lines(build: pb.Build) -> str:
    line = f"build    {build.id} {build.status}"
    if build.error:
        line += f": {build.error}"
    return line + f"\nrelease  {build.release_id or '-'}"


@click.command("build")
@app_option
@json_option
@click.argument("directory", metavar="[DIR]", required=False)
@click.option("--image", metavar="REF", help="Record a build of this image instead.")
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
    """Build DIR (default: .) into a new release, or record one of --image REF.

    DIR is sent as docker build would send it (.dockerignore applies; ledger.yml and the
    Dockerfiles are always sent) and its build log is followed on stderr. Prints the build
    id and the id of the release it created (not promoted); a failed build exits with 1.
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
@click.option("--image", metavar="REF", help="Deploy this image instead of building DIR.")
@click.option("-d", "--description", default="", help="Why this deploy happens.")
@wait_options
@click.option(
    "--id",
    "id_only",
    is_flag=True,
    help="Print only the release id, once it is live (for CI): implies --wait; "
    "progress goes to stderr.",
)
@pass_session
def deploy(
    session: Session,
    directory: str | None,
    image: str | None,
    description: str,
    wait: bool,
    timeout: int | None,
    id_only: bool,
) -> None:
    """Build DIR (default: .) or --image REF, then promote the release the build created.

    With --id: wait for the promotion, then print the release id alone on stdout; a failed
    build exits with 1, a promotion that did not succeed with 3 (stdout stays empty).
    """
    result = _run_build(session, directory, image, description)
    if id_only:
        session.err(_build_lines(result))
    elif result.status != "succeeded":
        session.emit(
            {"build": render.build(result), "promotion": None}, lambda: _build_lines(result)
        )
    release_id = check_build(result)
    if not session.json and not id_only:
        session.out(_build_lines(result))
    promotion = session.client.promote(
        result.app, release_id, deadline_seconds=timeout or 0, description=description
    )
    if wait or id_only:
        promotion = wait_for_promotion(session, promotion)
    if id_only:
        session.err(views.promotion_line(promotion))
        check_promotion(promotion)
        session.out(release_id)
        return
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
@click.option(
    "--follow/--no-follow",
    default=True,
    show_default=True,
    help="While the build runs, keep writing its output until it ends.",
)
@pass_session
def builds_logs(session: Session, build_id: str, follow: bool) -> None:
    """Write a build's log to stdout, following it while the build runs."""
    follow_build_log(session, session.require_app(), build_id, session.write_bytes, follow=follow)
