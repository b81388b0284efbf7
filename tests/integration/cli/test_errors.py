"""The server's refusals: exit 1 and its reason on one stderr line, never a traceback."""

from __future__ import annotations

from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl, Result

pytestmark = SQLITE_ONLY


def assert_refused(result: Result, message: str) -> None:
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr == f"ledgerctl: error: {message}\n"


def test_an_unknown_app_is_not_found(ledgerctl: Ledgerctl) -> None:
    assert_refused(ledgerctl("apps", "info", "nope"), "app nope not found")


def test_a_bad_app_name_is_an_invalid_argument(ledgerctl: Ledgerctl) -> None:
    result = ledgerctl("apps", "create", "Bad_Name")

    assert_refused(
        result,
        "invalid app name 'Bad_Name': use 1-30 lowercase letters, digits or '-', "
        "starting with a letter",
    )


def test_creating_an_app_that_exists_is_already_exists(web: Ledgerctl) -> None:
    assert_refused(web("apps", "create", "web"), "app web already exists")


def test_changing_env_with_a_stale_expected_version_is_aborted_and_changes_nothing(
    web: Ledgerctl,
) -> None:
    web.ok("env", "set", "A=1", "--expect-version", "0")

    result = web("env", "set", "A=2", "--expect-version", "0")

    assert_refused(result, "env of web is at version 1, not 0: re-read it and try again")
    assert web.ok("--json", "env", "--reveal").json == {
        "version": 1,
        "env": {"A": "1"},
        "masked": False,
    }


def test_promoting_when_the_app_has_no_release_is_a_failed_precondition(web: Ledgerctl) -> None:
    assert_refused(web("releases", "promote"), "app web has no release to promote")


def test_cancelling_a_promotion_that_ended_is_a_failed_precondition(web: Ledgerctl) -> None:
    web.deploy("web:1")
    (promotion,) = web.ok("--json", "promotions").json

    result = web("promotions", "cancel", promotion["id"])

    assert_refused(result, f"promotion {promotion['id']} is succeeded")


def test_getting_an_env_key_that_is_not_set_exits_1(web: Ledgerctl) -> None:
    web.ok("env", "set", "A=1")

    assert web.ok("env", "get", "A").stdout == "1\n"
    assert_refused(web("env", "get", "B"), "B is not set in the environment of web")
