"""Options shared by many commands, and the decorator that hands commands their Session.

``-a/--app`` and ``--json`` are global options, but Convox users type them after the verb
(``ledgerctl env -a web --json``), so every command accepts them too; a value given there
overrides the global one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import click

from cli.context import Session, session_of

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

LIST_LIMIT = 100


def pass_session(function: Callable[Concatenate[Session, P], R]) -> Callable[P, R]:
    """Call the command with the running Session as its first argument."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return function(session_of(click.get_current_context()), *args, **kwargs)

    return wrapper


def _set_app(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        session_of(ctx).app = value


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        session_of(ctx).json = True


def app_option(function: F) -> F:
    """``-a/--app APP`` on an app-scoped command."""
    return click.option(
        "-a",
        "--app",
        "app_name",
        metavar="APP",
        expose_value=False,
        callback=_set_app,
        help="The app (default: the global -a or $LEDGER_APP).",
    )(function)


def json_option(function: F) -> F:
    """``--json`` on a command."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Machine-readable JSON on stdout.",
    )(function)


def limit_option(default: int = LIST_LIMIT) -> Callable[[F], F]:
    """``--limit N`` on a list command."""
    return click.option(
        "--limit",
        type=click.IntRange(min=1),
        default=default,
        show_default=True,
        help="Show at most this many items.",
    )


def wait_options(function: F) -> F:
    """``--wait`` and ``--timeout`` on a command that starts a promotion."""
    function = click.option(
        "--timeout",
        type=click.IntRange(min=1),
        default=None,
        metavar="SECONDS",
        help="Promotion deadline: past it the promotion fails and rolls back "
        "(default: the app's, 600 s).",
    )(function)
    return click.option(
        "--wait",
        is_flag=True,
        help="Wait until the promotion ends; exit 3 unless it succeeded.",
    )(function)


def queue_option(function: F) -> F:
    """``--queue`` on a command that starts a promotion."""
    return click.option(
        "--queue",
        is_flag=True,
        help="If a promotion is in flight, wait behind it instead of failing.",
    )(function)
