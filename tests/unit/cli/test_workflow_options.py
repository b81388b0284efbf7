"""What the options of ``workflows create/update`` ask ledgerd for, and durations and hooks
as typed on the command line. No server: the usage errors come before any call."""

from __future__ import annotations

import io

import click
import pytest

from cli import parsing
from cli.main import main

CLOSED = {"LEDGER_HOST": "127.0.0.1:1"}


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        list(argv), stdout=stdout, stderr=stderr, environ=dict(CLOSED), stdin=io.StringIO(stdin)
    )
    return code, stdout.getvalue(), stderr.getvalue()


def test_a_duration_is_a_number_of_seconds() -> None:
    assert [parsing.seconds(t) for t in ("60s", "5m", "1h", "1h30m", "90")] == [
        60,
        300,
        3600,
        5400,
        90,
    ]


def test_zero_is_a_duration_meaning_none() -> None:
    assert parsing.seconds("0") == 0


def test_a_duration_without_a_unit_it_knows_is_a_usage_error() -> None:
    with pytest.raises(click.BadParameter, match="not a duration like 60s"):
        parsing.seconds("5 minutes")


def test_a_hook_is_tidied_to_service_colon_command() -> None:
    assert parsing.hook("web:rake db:migrate ") == "web: rake db:migrate"


def test_a_hook_without_a_service_is_a_usage_error() -> None:
    with pytest.raises(click.BadParameter, match="is not 'SERVICE: COMMAND'"):
        parsing.hook("rake db-migrate")


def test_creating_a_workflow_without_a_repository_is_a_usage_error() -> None:
    code, _, stderr = run("workflows", "create", "shop", "--app", "shop")

    assert code == 2
    assert stderr.startswith("ledgerctl: error: give the repository: --repo URL")


def test_creating_a_workflow_without_an_app_is_a_usage_error() -> None:
    code, _, stderr = run("workflows", "create", "shop", "--repo", "https://git.example/s.git")

    assert code == 2
    assert "give the apps to deploy: --app APP" in stderr


def test_updating_a_workflow_with_nothing_to_change_is_a_usage_error() -> None:
    code, _, stderr = run("workflows", "update", "shop")

    assert code == 2
    assert "nothing to change" in stderr


def test_a_hook_and_no_hooks_at_once_is_a_usage_error() -> None:
    argv = ["workflows", "update", "shop", "--before-promote", "web: x", "--no-before-promote"]

    code, _, stderr = run(*argv)

    assert code == 2
    assert "--before-promote or --no-before-promote, not both" in stderr


def test_new_credentials_and_none_at_once_is_a_usage_error() -> None:
    argv = ["workflows", "update", "shop", "--credentials-stdin", "--no-credentials"]

    code, _, stderr = run(*argv, stdin="user:token\n")

    assert code == 2
    assert "--credentials-stdin or --no-credentials, not both" in stderr


def test_credentials_asked_from_an_empty_stdin_are_a_usage_error() -> None:
    argv = ["workflows", "create", "shop", "--repo", "r", "--app", "shop", "--credentials-stdin"]

    code, _, stderr = run(*argv, stdin="\n")

    assert code == 2
    assert "stdin held no credentials" in stderr


def test_a_poll_interval_that_is_not_a_duration_is_a_usage_error() -> None:
    code, _, stderr = run("workflows", "update", "shop", "--poll", "often")

    assert code == 2
    assert "Invalid value for '--poll'" in stderr


def test_running_a_workflow_at_a_branch_and_a_commit_is_a_usage_error() -> None:
    code, _, stderr = run("workflows", "run", "shop", "--branch", "b", "--commit", "abc")

    assert code == 2
    assert "--branch or --commit, not both" in stderr


def test_a_one_off_command_with_options_before_the_double_dash_says_where_they_go() -> None:
    code, _, stderr = run("-a", "web", "run", "web", "ls", "-la")

    assert code == 2
    assert "give the command after --" in stderr
    assert stderr.count("\n") == 1


def test_a_one_off_command_needs_a_command() -> None:
    code, _, stderr = run("-a", "web", "run", "web")

    assert code == 2
    assert "COMMAND" in stderr


def test_a_one_off_command_needs_an_app() -> None:
    code, _, stderr = run("run", "web", "--", "true")

    assert code == 2
    assert "no app given" in stderr


def test_a_one_off_command_with_a_zero_timeout_is_a_usage_error() -> None:
    code, _, stderr = run("-a", "web", "run", "web", "--timeout", "0", "--", "true")

    assert code == 2
    assert "--timeout" in stderr
