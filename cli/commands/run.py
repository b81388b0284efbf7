"""``ledgerctl run``: a one-off command in a new container of a release (Convox's ``run``).

The command's output (its stdout and stderr, as ledgerd streams them) goes to stdout as
it comes, byte for byte; ``ledgerctl`` then exits with the command's exit code, so
``ledgerctl run web -- rake db:migrate && …`` works in scripts. A command that could not
be run at all (ledgerd reports an exit code outside 0-255) exits 1 with a message.
Ctrl-C cancels the call, and ledgerd stops the command.
"""

from __future__ import annotations

import click

from cli import parsing
from cli.context import Session
from cli.errors import CliError
from cli.options import app_option, pass_session
from ledger_api.v1 import ledger_pb2 as pb


class RunCommand(click.Command):
    """A command whose unknown options are most likely the user's command's own."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as error:
            hint = "give the command after --: ledgerctl run SERVICE -- COMMAND"
            message = error.format_message().rstrip(".")
            raise click.UsageError(f"{message} ({hint})", ctx) from None


@click.command("run", cls=RunCommand)
@app_option
@click.argument("service")
@click.argument("command", nargs=-1, required=True)
@click.option(
    "--release",
    "release_id",
    default="",
    metavar="RELEASE",
    help="Run it in RELEASE (default: the active release).",
)
@click.option(
    "--timeout",
    callback=parsing.seconds_callback,
    default="1h",
    metavar="DURATION",
    help="Stop the command after this long (30s, 10m, 1h; default 1h, at most 24h).",
)
@pass_session
def run(
    session: Session, service: str, command: tuple[str, ...], release_id: str, timeout: int
) -> int:
    """Run COMMAND in a new container of SERVICE and exit with its exit code.

    Give the command after --, e.g. `ledgerctl run web -a shop -- rake db:migrate`. It runs
    without a shell (argv as given), with the release's env; its output is streamed to
    stdout. Ctrl-C stops it.
    """
    if timeout < 1:
        raise click.BadParameter("give a timeout of at least 1s", param_hint="'--timeout'")
    request = pb.RunCommandRequest(
        app=session.require_app(),
        service=service,
        command=list(command),
        release_id=release_id,
        timeout_seconds=timeout,
    )
    responses = session.client.run_command(request)
    try:
        for response in responses:
            if response.output:
                session.write_bytes(response.output)
            if response.exited:
                return exit_code_of(response)
    finally:
        responses.close()  # cancels the call when left early (Ctrl-C): ledgerd stops it
    raise CliError("ledgerd ended the command's stream without its exit code")


def exit_code_of(last: pb.RunCommandResponse) -> int:
    """The command's exit code (0-255) for ``ledgerctl`` to exit with; raise (exit 1) when
    ledgerd could not run it (a code outside 0-255, e.g. -1)."""
    if 0 <= last.exit_code <= 255:
        return last.exit_code
    where = f" (run {last.run_id})" if last.run_id else ""
    raise CliError(f"the command could not be run: exit code {last.exit_code}{where}")
