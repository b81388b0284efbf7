"""Parsing of command-line values: K=V pairs, env keys, --at, --since/--until."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
import pytest

from cli import parsing

NOW = datetime(2026, 11, 26, 19, 0, 0, tzinfo=UTC)


def test_env_pair_splits_on_the_first_equals_sign() -> None:
    assert parsing.env_pairs(["URL=postgres://h/db?a=b"]) == {"URL": "postgres://h/db?a=b"}


def test_env_pair_may_have_an_empty_value() -> None:
    assert parsing.env_pairs(["EMPTY="]) == {"EMPTY": ""}


def test_env_pairs_keep_every_key() -> None:
    assert parsing.env_pairs(["A=1", "_B=2", "c3=x"]) == {"A": "1", "_B": "2", "c3": "x"}


def test_env_pair_without_equals_sign_is_a_usage_error() -> None:
    with pytest.raises(click.BadParameter, match="not KEY=VALUE"):
        parsing.env_pairs(["NOEQUALS"])


@pytest.mark.parametrize("key", ["1ABC", "A-B", "A B", "", "É", "A.B"])
def test_env_key_outside_the_allowed_pattern_is_rejected(key: str) -> None:
    with pytest.raises(click.BadParameter, match="not a valid key"):
        parsing.env_pairs([f"{key}=v"])


def test_env_key_given_twice_is_rejected_rather_than_silently_overwritten() -> None:
    with pytest.raises(click.BadParameter, match="given twice"):
        parsing.env_pairs(["A=1", "A=2"])


def test_env_unset_keys_are_validated_and_deduplicated_in_order() -> None:
    assert parsing.env_keys(["B", "A", "B"]) == ["B", "A"]


def test_env_unset_refuses_a_key_with_a_value() -> None:
    with pytest.raises(click.BadParameter, match="keys only"):
        parsing.env_keys(["A=1"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
    ],
)
def test_duration_understands_units(text: str, expected: timedelta) -> None:
    assert parsing.duration(text) == expected


@pytest.mark.parametrize("text", ["15", "m", "2x", "-2h", "2 h", ""])
def test_duration_rejects_anything_else(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parsing.duration(text)


def test_since_duration_means_that_long_ago() -> None:
    assert parsing.point_in_time("2h", NOW) == NOW - timedelta(hours=2)


def test_since_rfc3339_time_is_converted_to_utc() -> None:
    moment = parsing.point_in_time("2026-11-26T20:30:00+01:00", NOW)
    assert moment == datetime(2026, 11, 26, 19, 30, tzinfo=UTC)


def test_rfc3339_accepts_z_and_fractions() -> None:
    moment = parsing.rfc3339("2026-11-26T19:28:08.123456Z")
    assert moment == datetime(2026, 11, 26, 19, 28, 8, 123456, tzinfo=UTC)


def test_rfc3339_without_offset_is_rejected_as_ambiguous() -> None:
    with pytest.raises(click.BadParameter, match="UTC offset"):
        parsing.rfc3339("2026-11-26T19:28:08")


def test_rfc3339_garbage_is_rejected() -> None:
    with pytest.raises(click.BadParameter, match="RFC 3339"):
        parsing.rfc3339("yesterday")


def test_at_integer_is_a_log_position() -> None:
    assert parsing.as_of("42", NOW) == parsing.AsOf(position=42, time=None)


def test_at_rfc3339_is_a_time() -> None:
    assert parsing.as_of("2026-11-26T18:00:00Z", NOW) == parsing.AsOf(
        position=0, time=datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
    )


def test_at_duration_is_a_time_that_long_ago() -> None:
    assert parsing.as_of("30m", NOW).time == NOW - timedelta(minutes=30)


def test_at_position_zero_is_rejected_because_zero_means_now() -> None:
    with pytest.raises(click.BadParameter, match="starts at 1"):
        parsing.as_of("0", NOW)
