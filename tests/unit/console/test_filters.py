"""How the console writes times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.console.filters import (
    ago,
    duration,
    moment,
    relative,
    status_class,
    task_class,
    when,
)

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


def test_times_are_shown_in_utc_to_the_second() -> None:
    assert when(datetime(2026, 11, 27, 9, 14, 3, 500, tzinfo=UTC)) == "2026-11-27 09:14:03 UTC"


def test_a_missing_time_shows_nothing() -> None:
    assert when(None) == ""
    assert ago(None) == ""
    assert duration(None, NOW) == ""


def test_ages_are_rounded_to_a_readable_unit() -> None:
    assert ago(NOW - timedelta(seconds=5), NOW) == "5 s ago"
    assert ago(NOW - timedelta(minutes=3, seconds=4), NOW) == "3 min 4 s ago"
    assert ago(NOW - timedelta(minutes=42), NOW) == "42 min ago"
    assert ago(NOW - timedelta(hours=5), NOW) == "5 h ago"
    assert ago(NOW - timedelta(days=3), NOW) == "3 d ago"


def test_a_short_duration_has_a_decimal() -> None:
    assert duration(NOW, NOW + timedelta(seconds=1.44)) == "1.4 s"


def test_a_long_duration_is_in_minutes() -> None:
    assert duration(NOW, NOW + timedelta(minutes=2, seconds=5)) == "2 min 5 s"


def test_each_status_has_its_badge_colour() -> None:
    assert status_class("succeeded") == "ok"
    assert status_class("rolled_back") == "bad"
    assert status_class("running") == "busy"
    assert status_class("something new") == "off"


def test_a_task_s_badge_is_green_running_red_when_it_failed_grey_when_stopped() -> None:
    assert task_class("running") == "ok"
    assert task_class("starting") == "wait"
    assert task_class("failed", "task: non-zero exit (3)") == "bad"
    assert task_class("exited", "exit code 137") == "bad"  # a replica is meant to run
    assert task_class("shutdown") == "off"


def test_a_time_within_a_day_reads_as_how_long_ago() -> None:
    assert relative(NOW - timedelta(seconds=16), NOW) == "16 s ago"
    assert relative(NOW - timedelta(hours=3), NOW) == "3 h ago"


def test_an_older_time_reads_as_its_day_and_the_year_only_when_it_differs() -> None:
    assert relative(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), NOW) == "on 2 Nov"
    assert relative(datetime(2025, 12, 2, 9, 0, tzinfo=UTC), NOW) == "on 2 Dec 2025"


def test_every_time_is_relative_with_the_exact_utc_time_on_hover() -> None:
    shown = moment(NOW - timedelta(minutes=42), NOW)
    assert shown == (
        '<time datetime="2026-11-27T11:18:00+00:00" title="2026-11-27 11:18:00 UTC">'
        "42 min ago</time>"
    )


def test_no_time_is_a_muted_dash() -> None:
    assert moment(None) == '<span class="muted">—</span>'
