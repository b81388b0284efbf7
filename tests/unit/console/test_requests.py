"""What the console accepts from a request: where to go after signing in, typed moments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger.errors import InvalidArgument
from server.console.pages.apps import parse_moment
from server.console.pages.session import safe_next


@pytest.mark.parametrize("target", ["/", "/apps/shop/releases", "/apps/shop/env?reveal=1"])
def test_a_path_of_the_console_is_where_sign_in_returns_to(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x", ""]
)
def test_anything_that_could_leave_the_console_returns_to_the_apps_list(target: str) -> None:
    assert safe_next(target) == "/"


def test_a_moment_without_an_offset_is_utc() -> None:
    assert parse_moment("2026-11-27T09:14:03") == datetime(2026, 11, 27, 9, 14, 3, tzinfo=UTC)


def test_a_moment_with_an_offset_keeps_it() -> None:
    moment = parse_moment("2026-11-27T10:14:03+01:00")
    assert moment == datetime(2026, 11, 27, 9, 14, 3, tzinfo=UTC)
    assert moment is not None and moment.utcoffset() == timedelta(hours=1)
    assert moment.tzinfo == timezone(timedelta(hours=1))


def test_a_moment_may_be_written_with_a_space_and_a_z() -> None:
    assert parse_moment("2026-11-27 09:14Z") == datetime(2026, 11, 27, 9, 14, tzinfo=UTC)


def test_no_moment_means_now() -> None:
    assert parse_moment("  ") is None


def test_a_malformed_moment_is_refused_with_the_expected_form() -> None:
    with pytest.raises(InvalidArgument, match="YYYY-MM-DDTHH:MM"):
        parse_moment("yesterday")
