"""``ledgerctl``: the command-line client of Deploy Ledger (a gRPC client only).

``main(argv, stdout=, stderr=, environ=, stdin=)`` runs one command with injected I/O and returns
its exit code; it is also the console entry point (the generated script exits with the
returned code). It is the single error boundary: every failure below it becomes one line
``ledgerctl: error: <message>`` on stderr and one of these exit codes, never a traceback:

    0  ok
    1  the server refused the request (NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION,
       ALREADY_EXISTS, ABORTED, PERMISSION_DENIED, UNAUTHENTICATED, …), or the answer
       is "no" (a build failed, `env get` of a key that is not set, `audit verify` found
       a problem)
    2  usage error (bad or missing arguments or options, no app given)
    3  a waited-for promotion (--wait) did not succeed
    4  cannot reach the server (UNAVAILABLE or, from a server stopping, CANCELLED after
       retries; DEADLINE_EXCEEDED)
  130  interrupted (Ctrl-C), except `watch`, which Ctrl-C ends with 0

``run`` exits with the exit code of the command it ran (1 when it could not be run), and
``stdin`` is read only by ``--credentials-stdin`` (workflows).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout, suppress
from typing import IO, ClassVar

import click
import grpc

from cli.commands.apps import apps
from cli.commands.builds import build, builds, deploy
from cli.commands.env import env
from cli.commands.events import history, watch
from cli.commands.jobs import jobs
from cli.commands.keys import keys, whoami
from cli.commands.notifications import notifications
from cli.commands.promotions import promotions
from cli.commands.ps import ps
from cli.commands.rack import rack
from cli.commands.releases import releases
from cli.commands.run import run
from cli.commands.workflows import workflows
from cli.context import Session, session_of
from cli.errors import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    CliError,
    rpc_error_message,
    rpc_exit_code,
)
from cli.transport import DEFAULT_HOST

EXIT_INTERRUPTED = 130

EPILOG = """\b
Environment: LEDGER_HOST, LEDGER_TOKEN, LEDGER_APP, LEDGER_CA (overridden by the options).
\b
Exit codes:
  0  ok
  1  the server refused the request (not found, invalid, precondition, conflict, not
     signed in, permission denied, ...), or `audit verify` failed
  2  usage error
  3  a waited-for promotion (--wait) did not succeed
  4  cannot reach the server (unavailable after retries, deadline exceeded)
130  interrupted (Ctrl-C); `watch` ends with 0
`run` exits with the exit code of the command it ran (1 when it could not be run).
"""


class LazyGroup(click.Group):
    """A group whose heavier subcommands are imported only when used (the audit commands
    load the cryptography stack: every other command starts faster without it)."""

    LAZY: ClassVar[dict[str, tuple[str, str]]] = {"audit": ("cli.commands.audit", "audit")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY:
            module, name = self.LAZY[cmd_name]
            command = getattr(importlib.import_module(module), name)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(
    name="ledgerctl",
    cls=LazyGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--host",
    metavar="HOST:PORT",
    help=f"Address of ledgerd (default: $LEDGER_HOST or {DEFAULT_HOST}).",
)
@click.option("--token", metavar="TOKEN", help="Bearer token (default: $LEDGER_TOKEN).")
@click.option(
    "--ca",
    metavar="FILE",
    help="Use TLS, verifying ledgerd with the CA certificates in FILE (default: $LEDGER_CA).",
)
@click.option("--tls", is_flag=True, help="Use TLS, verifying ledgerd with the system's CAs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@click.option("-a", "--app", metavar="APP", help="The app (default: $LEDGER_APP).")
@click.pass_context
def root(
    ctx: click.Context,
    host: str | None,
    token: str | None,
    ca: str | None,
    tls: bool,
    as_json: bool,
    app: str | None,
) -> None:
    """Deploy Ledger: builds, releases, environments and promotions, with full history."""
    session_of(ctx).configure(host=host, token=token, as_json=as_json, app=app, ca=ca, tls=tls)


for _command in (apps, build, deploy, builds, releases, env, promotions, history, watch, rack):
    root.add_command(_command)
for _command in (keys, whoami):
    root.add_command(_command)
for _command in (workflows, jobs, run, ps):
    root.add_command(_command)
root.add_command(notifications)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
    stdin: IO[str] | None = None,
) -> int:
    """Run ``ledgerctl`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code
    (``stdin``: what ``--credentials-stdin`` reads; default: the process's)."""
    session = Session(
        stdout=stdout if stdout is not None else sys.stdout,
        stderr=stderr if stderr is not None else sys.stderr,
        environ=environ if environ is not None else os.environ,
    )
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with redirect_stdout(session.stdout), redirect_stderr(session.stderr), _stdin(stdin):
            result = root.main(args=args, prog_name="ledgerctl", standalone_mode=False, obj=session)
        return result if isinstance(result, int) else EXIT_OK
    except click.exceptions.NoArgsIsHelpError as error:
        session.err(error.format_message())
        return EXIT_USAGE
    except click.UsageError as error:
        return _fail(session, _usage_message(error), EXIT_USAGE)
    except click.ClickException as error:
        return _fail(session, error.format_message(), error.exit_code)
    except CliError as error:
        return _fail(session, error.message, error.exit_code)
    except grpc.RpcError as error:
        message = rpc_error_message(
            error,
            session.host,
            session.timeout,
            signed_in=session.token is not None,
            secure=session.tls or session.ca is not None,
        )
        return _fail(session, message, rpc_exit_code(error))
    except (click.Abort, KeyboardInterrupt):
        return _fail(session, "interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        return EXIT_OK  # the reader (e.g. `| head`) has seen enough
    except SystemExit as error:
        return error.code if isinstance(error.code, int) else EXIT_REFUSED
    except Exception as error:
        return _fail(session, f"internal error: {type(error).__name__}: {error}", EXIT_REFUSED)
    finally:
        session.close()


@contextmanager
def _stdin(stream: IO[str] | None) -> Iterator[None]:
    """``sys.stdin`` is ``stream`` meanwhile (unless None), as stdout and stderr are
    redirected to the session's."""
    if stream is None:
        yield
        return
    saved, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = saved


def _usage_message(error: click.UsageError) -> str:
    message = error.format_message()
    if error.ctx is not None:
        message += f" (see '{error.ctx.command_path} --help')"
    return message


def _fail(session: Session, message: str, code: int) -> int:
    line = " ".join(message.split())
    with suppress(BrokenPipeError, ValueError):
        session.err(f"ledgerctl: error: {line}")
    return code


if __name__ == "__main__":
    sys.exit(main())
