"""The options of ``workflows create`` and ``workflows update``, and what they ask for.

One set of options serves both commands: ``create`` turns them into whole settings (the
unset ones take ledgerd's defaults), ``update`` into the settings it changes and their
names (``UpdateWorkflowRequest.update_fields``), so only what is given changes.
Credentials of a private repository are read from stdin (``--credentials-stdin``), never
from the command line, where other users and shell histories would see them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from cli import parsing
from cli.options import F
from ledger_api.v1 import ledger_pb2 as pb

# option name → (settings field, the flag that empties a list field)
_LISTS = {
    "before_promote": "no_before_promote",
    "after_promote": "no_after_promote",
}
_SCALARS = {
    "repo": "repository",
    "branch": "branch",
    "promote": "promote",
    "review_apps": "review_apps",
    "wait_for_ci": "wait_for_ci",
    "poll": "poll_seconds",
    "allow_forks": "allow_forks",
}


def _hooks(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    return [parsing.hook(value) for value in values]


def _env(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    return parsing.env_pairs(values)


def settings_options(function: F) -> F:
    """The settings options (all optional; ``create`` checks that --repo and --app are given)."""
    hook_help = "{} promoting, run SERVICE: COMMAND as a one-off command (repeatable, in order)."
    options: list[Callable[[F], F]] = [
        click.option("--repo", metavar="URL", help="The git repository (https, ssh or file)."),
        click.option("--branch", metavar="BRANCH", help="The branch to deploy (default: main)."),
        click.option(
            "--app",
            "apps",
            multiple=True,
            metavar="APP",
            help="An app to deploy (repeatable; update: the whole new list).",
        ),
        click.option(
            "--promote",
            type=click.Choice(["auto", "manual"]),
            help="auto (default): promote each new release; manual: only build it.",
        ),
        click.option(
            "--before-promote",
            multiple=True,
            metavar="'SERVICE: COMMAND'",
            callback=_hooks,
            help=hook_help.format("Before"),
        ),
        click.option("--no-before-promote", is_flag=True, help="Run nothing before promoting."),
        click.option(
            "--after-promote",
            multiple=True,
            metavar="'SERVICE: COMMAND'",
            callback=_hooks,
            help=hook_help.format("After"),
        ),
        click.option("--no-after-promote", is_flag=True, help="Run nothing after promoting."),
        click.option(
            "--review-apps/--no-review-apps",
            default=None,
            help="Deploy each pull request to a temporary app APP-pr-N.",
        ),
        click.option(
            "--review-env",
            multiple=True,
            metavar="KEY=VALUE",
            callback=_env,
            help="The env of review apps (repeatable; update: the whole new env).",
        ),
        click.option("--no-review-env", is_flag=True, help="Review apps get no env of their own."),
        click.option(
            "--wait-for-ci/--no-wait-for-ci",
            default=None,
            help="Promote only after CI reported success on the commit.",
        ),
        click.option(
            "--poll",
            callback=parsing.seconds_callback,
            metavar="DURATION",
            help="Also poll the branch this often (60s, 5m, 1h; 0: webhooks only).",
        ),
        click.option(
            "--allow-forks/--no-allow-forks",
            default=None,
            help="Review apps also for pull requests from forks.",
        ),
        click.option(
            "--credentials-stdin",
            is_flag=True,
            help="Read the private repository's credentials (user:token, or a token) from stdin.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def new_settings(options: dict[str, Any]) -> pb.WorkflowSettings:
    """Whole settings for ``create`` (unset options: ledgerd's defaults)."""
    if not options["repo"]:
        raise click.UsageError("give the repository: --repo URL")
    if not options["apps"]:
        raise click.UsageError("give the apps to deploy: --app APP (repeatable)")
    settings, _ = changed_settings(options)
    return settings


def changed_settings(options: dict[str, Any]) -> tuple[pb.WorkflowSettings, list[str]]:
    """The settings the options give, and the names of those fields (in the proto's order)."""
    settings = pb.WorkflowSettings()
    fields: set[str] = set()
    for option, field in _SCALARS.items():
        if options[option] is not None:
            setattr(settings, field, options[option])
            fields.add(field)
    if options["apps"]:
        settings.apps.extend(options["apps"])
        fields.add("apps")
    for field, clear in _LISTS.items():
        if options[field] and options[clear]:
            given, flag = field.replace("_", "-"), clear.replace("_", "-")
            raise click.UsageError(f"--{given} or --{flag}, not both")
        if options[field] or options[clear]:
            getattr(settings, field).extend(options[field])
            fields.add(field)
    if options["review_env"] and options["no_review_env"]:
        raise click.UsageError("--review-env or --no-review-env, not both")
    if options["review_env"] or options["no_review_env"]:
        settings.review_env.update(options["review_env"])
        fields.add("review_env")
    order = list(pb.WorkflowSettings.DESCRIPTOR.fields_by_name)
    return settings, sorted(fields, key=order.index)


def read_credentials(prompt: str = "Credentials (user:token or a token)") -> str:
    """The credentials on stdin: prompted for without echo on a terminal, else read whole
    (one line: surrounding whitespace is dropped)."""
    stream = sys.stdin
    if stream is None:
        raise click.UsageError("--credentials-stdin: there is no stdin to read")
    if stream.isatty():
        value = str(click.prompt(prompt, hide_input=True, err=True))
    else:
        value = stream.read()
    credentials = value.strip()
    if not credentials:
        raise click.UsageError("--credentials-stdin: stdin held no credentials")
    return credentials
