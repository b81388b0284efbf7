"""The public event names: one per audited type, stable, and the patterns that pick them."""

from __future__ import annotations

import re

import pytest

from ledger.domain.registry import audited_types
from ledger.errors import InvalidArgument
from ledger.notifications.names import (
    NAMES,
    NOT_SENT,
    check_patterns,
    dotted,
    families,
    matches,
    names,
    unknown_pattern,
)

DOTTED = re.compile(r"[a-z]+\.[a-z_]+")


def test_every_audited_event_type_has_a_public_name_unless_it_is_never_sent() -> None:
    unnamed = [kind for kind in audited_types() if kind not in NAMES and kind not in NOT_SENT]
    assert not unnamed, f"give these a dotted name in ledger/notifications/names.py: {unnamed}"


def test_names_are_dotted_unique_and_name_only_known_types() -> None:
    assert all(DOTTED.fullmatch(name) for name in NAMES.values())
    assert len(set(NAMES.values())) == len(NAMES)
    assert set(NAMES) <= set(audited_types())


def test_the_promotion_and_build_names_read_as_the_documentation_says() -> None:
    assert dotted("PromotionRequested") == "promotion.created"
    assert dotted("PromotionRolledBack") == "promotion.rolled_back"
    assert dotted("BuildFailed") == "build.failed"
    assert dotted("EnvChanged") == "env.changed"
    assert dotted("BuildLogAppended") == ""


@pytest.mark.parametrize(
    ("patterns", "name", "selected"),
    [
        (["promotion.*"], "promotion.failed", True),
        (["promotion.*"], "promotions.failed", False),
        (["promotion.*"], "build.failed", False),
        (["build.failed"], "build.failed", True),
        (["build.failed"], "build.failed_more", False),
        (["build.failed", "app.*"], "app.created", True),
        (["*"], "key.created", True),
        (["*"], "", False),
    ],
)
def test_a_pattern_selects_its_exact_name_or_its_family(
    patterns: list[str], name: str, selected: bool
) -> None:
    assert matches(patterns, name) is selected


def test_patterns_are_stripped_sorted_and_unique() -> None:
    assert check_patterns([" build.failed", "promotion.*", "build.failed", ""]) == (
        "build.failed",
        "promotion.*",
    )


@pytest.mark.parametrize("pattern", ["deploy.*", "promotion*", "Build.failed", "x" * 300])
def test_an_unknown_pattern_is_refused_in_one_short_line_listing_the_families(
    pattern: str,
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_patterns(["app.created", pattern])
    message = str(refused.value)
    assert repr(pattern[:40]) in message and "\n" not in message and len(message) < 500
    assert all(family in message for family in families())


def test_an_unknown_name_of_a_known_family_is_refused_listing_that_family_s_names() -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_patterns(["promotion.done", "build.gone"])
    message = str(refused.value)
    assert message.startswith("unknown event name or pattern 'build.gone' (and 1 more): ")
    assert "the build events are build.{created, failed, started, succeeded}" in message
    assert len(message) < 500


def test_the_longest_refusal_stays_short() -> None:
    longest = max(
        len(unknown_pattern(f"{name.partition('.')[0]}.{'x' * 40}", 49)) for name in names()
    )
    assert longest < 500


def test_no_pattern_at_all_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="at least one event"):
        check_patterns([" ", ""])
