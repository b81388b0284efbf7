"""One-off commands (Convox ``run``): a command in a new container of a release.

Recorded as two events of the App: who ran what command in which release (the command's
text with the release's env values hidden), then its exit code. The output goes to the
caller only, never to the log. Workflows run their before- and after-promote commands
through the same use case.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from ledger.application import Decision, LedgerApplication
from ledger.commands import Outcome
from ledger.domain import Meta
from ledger.domain.secrecy import HIDDEN
from ledger.errors import FailedPrecondition, InvalidArgument
from ledger.ids import COMMAND_RUN, new_id
from ledger.runtime import CommandOutput, CommandRequest, ReleaseSpec, Runtime

MAX_ARGS = 100
MAX_COMMAND_CHARS = 4000
DEFAULT_TIMEOUT = 3600
NOT_RUN = -1  # the exit code recorded when the runtime could not run the command at all


@dataclass(frozen=True)
class RunCommand:
    app: str
    service: str
    command: tuple[str, ...]
    release_id: str = ""  # default: the active release
    timeout_seconds: int = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class CommandResult:
    run_id: str
    release_id: str
    exit_code: int


def check_command(command: RunCommand) -> None:
    if not command.command or len(command.command) > MAX_ARGS:
        raise InvalidArgument(f"give a command to run (1-{MAX_ARGS} arguments)")
    if sum(len(arg) for arg in command.command) > MAX_COMMAND_CHARS:
        raise InvalidArgument(f"the command is longer than {MAX_COMMAND_CHARS} characters")
    if any("\x00" in arg for arg in command.command):
        raise InvalidArgument("the command contains a NUL byte")
    if not 1 <= command.timeout_seconds <= 24 * 3600:
        raise InvalidArgument("a command's timeout is 1 second to 24 hours")


class CommandService:
    """Runs one-off commands through the runtime and records them."""

    def __init__(self, ledger: LedgerApplication, runtime: Runtime) -> None:
        self.ledger = ledger
        self.runtime = runtime

    def run(
        self,
        command: RunCommand,
        meta: Meta,
        output: CommandOutput,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> CommandResult:
        """Run ``command`` to its end; its exit code (``NOT_RUN`` if the runtime failed)."""
        check_command(command)
        app = self.ledger.app(command.app)
        release_id = command.release_id or app.active_release_id
        if not release_id:
            raise FailedPrecondition(f"app {app.name} has no active release: name one (--release)")
        release = self.ledger.release(app.name, release_id)
        if command.service not in {s.name for s in release.parsed_manifest.services}:
            names = ", ".join(s.name for s in release.parsed_manifest.services)
            raise InvalidArgument(
                f"release v{release.release_version} has no service {command.service[:40]!r} "
                f"(it has {names})"
            )
        if not self.runtime.runs_commands:  # refused before anything is recorded
            raise FailedPrecondition(
                f"the {self.runtime.name} runtime runs no containers: one-off commands need "
                "the docker runtime"
            )
        run_id = new_id(COMMAND_RUN)
        text = HIDDEN.text(shlex.join(command.command), release.env.values())
        self._record(
            app.name,
            meta,
            lambda a: a.start_command(meta, run_id, release_id, command.service, text),
        )
        exit_code = NOT_RUN
        try:
            request = CommandRequest(
                run_id,
                ReleaseSpec.of(release),
                command.service,
                command.command,
                command.timeout_seconds,
            )
            exit_code = self.runtime.run_command(request, output, cancelled)
        finally:
            self._record(app.name, meta, lambda a: a.end_command(meta, run_id, exit_code))
        return CommandResult(run_id, release_id, exit_code)

    def _record(self, app_name: str, meta: Meta, change: Callable[..., None]) -> None:
        def handle() -> Decision:
            app = self.ledger.app(app_name)
            change(app)
            return Decision(Outcome(app=app_name), (app,))

        # No request id: a one-off command is not retried by id (it ran, or it did not).
        self.ledger.execute("RunCommand", app_name, Meta(actor=meta.actor), handle, app_name)
