"""Without --json: tables, lines and raw logs as people read them."""

from __future__ import annotations

from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl

pytestmark = SQLITE_ONLY


def test_the_releases_table_marks_the_active_release(web: Ledgerctl) -> None:
    web.build("web:1")
    web.ok("releases", "promote", web.build("web:2"), "--wait")
    web.build("web:3")

    header, *rows = web.ok("releases").lines

    assert header.split()[:2] == ["VERSION", "ID"]
    assert [row[2:].split()[0] for row in rows] == ["v3", "v2", "v1"]
    assert [row.startswith("*") for row in rows] == [False, True, False]


def test_the_apps_builds_and_promotions_tables_have_headers_and_a_row_each(
    web: Ledgerctl,
) -> None:
    web.deploy("web:1")

    for argv, columns in [
        (["apps"], ["NAME", "ACTIVE", "RELEASES"]),
        (["builds"], ["ID", "STATUS", "RELEASE"]),
        (["promotions"], ["ID", "STATUS", "RELEASE", "PREVIOUS"]),
    ]:
        header, row = web.ok(*argv).lines
        assert header.split()[: len(columns)] == columns
        assert row.split()[0]


def test_env_prints_sorted_key_value_lines(web: Ledgerctl) -> None:
    web.ok("env", "set", "B=2", "A=x=y")

    assert web.ok("env", "--reveal").stdout == "A=x=y\nB=2\n"


def test_releases_diff_names_the_env_keys_that_changed_but_not_their_values(
    web: Ledgerctl,
) -> None:
    web.ok("env", "set", "OLD=s3cret-old")
    first = web.deploy("web:1")
    web.ok("env", "set", "--replace", "NEW=s3cret-new")
    second = web.build("web:2")

    result = web.ok("releases", "diff", first, second)

    assert result.lines[2:] == ["build changed", "+ NEW", "- OLD"]
    assert "s3cret" not in result.stdout


def test_builds_logs_writes_the_builds_log(web: Ledgerctl) -> None:
    web.build("nginx:1")
    (build,) = web.ok("--json", "builds").json

    result = web.ok("builds", "logs", build["id"])

    assert result.stdout == f"build {build['id']} of image nginx:1 succeeded\n"


def test_apps_info_at_a_time_before_any_release_says_none(web: Ledgerctl) -> None:
    web.deploy("web:1")

    result = web.ok("apps", "info", "web", "--at", "2020-01-01T00:00:00Z")

    assert "Active release as of 2020-01-01T00:00:00Z  none" in result.lines
