"""Usage errors through ``main()``: exit 2, one line on stderr, no traceback, no call made.

The host points at a closed port: if a command reached the network by mistake, the test
would see exit 4 instead of 2.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cli.main import main

CLOSED = {"LEDGER_HOST": "127.0.0.1:1"}


def run(*argv: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=stdout, stderr=stderr, environ=environ or dict(CLOSED))
    return code, stdout.getvalue(), stderr.getvalue()


def assert_one_line_error(stderr: str, fragment: str) -> None:
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("ledgerctl: error: ")
    assert fragment in stderr
    assert "Traceback" not in stderr


def test_env_set_without_equals_sign_is_a_usage_error() -> None:
    code, stdout, stderr = run("-a", "web", "env", "set", "NOEQUALS")
    assert code == 2
    assert stdout == ""
    assert_one_line_error(stderr, "'NOEQUALS' is not KEY=VALUE")


def test_env_set_with_a_bad_key_is_a_usage_error() -> None:
    code, _, stderr = run("-a", "web", "env", "set", "9LIVES=1")
    assert code == 2
    assert_one_line_error(stderr, "not a valid key")


def test_app_scoped_command_without_an_app_is_a_usage_error() -> None:
    code, _, stderr = run("releases")
    assert code == 2
    assert_one_line_error(stderr, "no app given")


def test_ps_without_an_app_argument_option_or_variable_is_a_usage_error() -> None:
    code, _, stderr = run("ps")
    assert code == 2
    assert_one_line_error(stderr, "no app given")


def test_unknown_option_is_a_usage_error() -> None:
    code, _, stderr = run("apps", "--bogus")
    assert code == 2
    assert_one_line_error(stderr, "--bogus")


def test_unknown_command_is_a_usage_error() -> None:
    code, _, stderr = run("frobnicate")
    assert code == 2
    assert_one_line_error(stderr, "frobnicate")


def test_build_of_a_directory_and_an_image_at_once_is_a_usage_error() -> None:
    code, _, stderr = run("-a", "web", "build", ".", "--image", "web:1")
    assert code == 2
    assert_one_line_error(stderr, "not both")


def test_build_of_a_directory_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    code, _, stderr = run("-a", "web", "build", str(tmp_path / "missing"))
    assert code == 2
    assert_one_line_error(stderr, "is not a directory")


def test_build_of_a_directory_with_nothing_to_build_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("no Dockerfile here")
    code, _, stderr = run("-a", "web", "deploy", str(tmp_path))
    assert code == 2
    assert_one_line_error(stderr, "nothing to build")


def test_wait_without_promote_is_a_usage_error() -> None:
    code, _, stderr = run("-a", "web", "env", "set", "A=1", "--wait")
    assert code == 2
    assert_one_line_error(stderr, "--wait needs --promote")


@pytest.mark.parametrize("value", ["0", "yesterday", "2026-11-26T10:00:00"])
def test_apps_info_at_rejects_a_bad_point_in_time(value: str) -> None:
    code, _, stderr = run("apps", "info", "web", "--at", value)
    assert code == 2
    assert_one_line_error(stderr, "ledgerctl: error:")


def test_history_since_after_until_is_a_usage_error() -> None:
    code, _, stderr = run("history", "--since", "1h", "--until", "2h")
    assert code == 2
    assert_one_line_error(stderr, "is after --until")


def test_list_limit_must_be_positive() -> None:
    code, _, stderr = run("-a", "web", "releases", "--limit", "0")
    assert code == 2
    assert_one_line_error(stderr, "--limit")


def test_help_lists_the_exit_codes_and_exits_0() -> None:
    code, stdout, stderr = run("--help")
    assert code == 0
    assert "Exit codes:" in stdout
    assert "4  cannot reach the server" in stdout
    assert stderr == ""


def test_no_command_prints_help_on_stderr_and_exits_2() -> None:
    code, stdout, stderr = run()
    assert code == 2
    assert stdout == ""
    assert "Usage: ledgerctl" in stderr


def test_unreachable_server_exits_4_with_one_line() -> None:
    code, stdout, stderr = run("apps")
    assert code == 4
    assert stdout == ""
    assert_one_line_error(stderr, "cannot reach ledgerd at 127.0.0.1:1")
