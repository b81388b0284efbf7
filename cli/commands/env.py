"""``ledgerctl env``: read and change an app's environment.

A change creates a release from the *active* release's build (or ``--release R``) with the
new environment; ``--promote`` also promotes it. ``--expect-version N`` makes the change
fail (ABORTED) if someone else changed the environment since you read version N.
"""

from __future__ import annotations

import click

from cli import parsing, render, views
from cli.context import Session
from cli.errors import CliError
from cli.options import F, app_option, json_option, pass_session
from cli.tables import clean
from cli.waiting import check_promotion, wait_for_promotion
from ledger_api.v1 import ledger_pb2 as pb


@click.group("env", invoke_without_command=True)
@app_option
@json_option
@click.option("--reveal", is_flag=True, help="Show the values (keys that may see them); else ***.")
@pass_session
def env(session: Session, reveal: bool) -> None:
    """Show or change the app's environment.

    Without a command: print it as sorted KEY=VALUE lines, values masked unless --reveal.
    """
    if click.get_current_context().invoked_subcommand is not None:
        return
    current = session.client.get_env(session.require_app(), reveal=reveal)
    if current.masked and current.values and not session.json:
        session.err("env values are masked: add --reveal to show them (if this key may)")
    session.emit(
        render.env(current),
        lambda: "\n".join(clean(f"{k}={v}") for k, v in sorted(current.values.items())),
    )


@env.command("get")
@app_option
@click.argument("key")
@pass_session
def env_get(session: Session, key: str) -> None:
    """Print the value of KEY (asking for it reveals it: keys that may not are refused)."""
    parsing.env_key(key)
    app = session.require_app()
    current = session.client.get_env(app, reveal=True)
    if key not in current.values:
        raise CliError(f"{key} is not set in the environment of {app}")
    session.out(current.values[key])


def _change_options(function: F) -> F:
    for option in reversed(
        [
            click.option("--promote", is_flag=True, help="Promote the release this creates."),
            click.option(
                "--expect-version",
                type=click.IntRange(min=0),
                metavar="N",
                help="Refuse the change unless the env version is still N.",
            ),
            click.option(
                "--release",
                "base_release",
                metavar="RELEASE",
                default="",
                help="Base the new release on RELEASE (default: the active release).",
            ),
            click.option("-d", "--description", default="", help="Why this change."),
            click.option(
                "--wait", is_flag=True, help="With --promote: wait for the promotion to end."
            ),
        ]
    ):
        function = option(function)
    return function


def _apply(
    session: Session,
    request: pb.UpdateEnvRequest,
    *,
    promote: bool,
    expect_version: int | None,
    base_release: str,
    description: str,
    wait: bool,
) -> None:
    if wait and not promote:
        raise click.UsageError("--wait needs --promote")
    request.app = session.require_app()
    request.promote = promote
    request.base_release_id = base_release
    request.description = description
    if expect_version is not None:
        request.expected_version = expect_version
    response = session.client.update_env(request)
    promotion = response.promotion
    if wait and response.HasField("promotion"):
        promotion = wait_for_promotion(session, promotion)
    data = render.env_update(response)
    if response.HasField("promotion"):
        data["promotion"] = render.promotion(promotion)

    def human() -> str:
        changes = [f"+{k}" for k in response.added]
        changes += [f"~{k}" for k in response.changed]
        changes += [f"-{k}" for k in response.removed]
        lines = [f"env v{response.env_version}: {' '.join(changes) or 'no change'}"]
        if response.HasField("release"):
            lines.append(views.release_line(response.release))
        else:
            lines.append("no release yet: the first build's release will use this env")
        if response.HasField("promotion"):
            lines.append(views.promotion_line(promotion))
        return "\n".join(lines)

    session.emit(data, human)
    if wait:
        if not response.HasField("promotion"):
            raise CliError("ledgerd started no promotion (the app has no release yet)")
        check_promotion(promotion)


@env.command("set")
@app_option
@json_option
@click.argument("pairs", metavar="KEY=VALUE...", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="The given pairs become the whole environment.")
@_change_options
@pass_session
def env_set(
    session: Session,
    pairs: tuple[str, ...],
    replace: bool,
    promote: bool,
    expect_version: int | None,
    base_release: str,
    description: str,
    wait: bool,
) -> None:
    """Set KEY=VALUE pairs (split on the first =)."""
    values = parsing.env_pairs(pairs)
    request = pb.UpdateEnvRequest(set=values, replace=replace)
    _apply(
        session,
        request,
        promote=promote,
        expect_version=expect_version,
        base_release=base_release,
        description=description,
        wait=wait,
    )


@env.command("unset")
@app_option
@json_option
@click.argument("keys", metavar="KEY...", nargs=-1, required=True)
@_change_options
@pass_session
def env_unset(
    session: Session,
    keys: tuple[str, ...],
    promote: bool,
    expect_version: int | None,
    base_release: str,
    description: str,
    wait: bool,
) -> None:
    """Remove KEYs from the environment."""
    request = pb.UpdateEnvRequest(unset=parsing.env_keys(keys))
    _apply(
        session,
        request,
        promote=promote,
        expect_version=expect_version,
        base_release=base_release,
        description=description,
        wait=wait,
    )
