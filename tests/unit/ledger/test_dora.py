"""The DORA metrics' definitions (docs/dora.md) on scripted promotions with known answers.

Every story happens in the window of the three UTC days 2026-11-02 (a Monday) to
2026-11-04, measured on 2026-11-05 at midnight; the expected figures are worked out by
hand in each test from the times written in it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.errors import InvalidArgument
from ledger.queries.dora import Deployment, Metrics, Point, Window, compute, p90, window

END = datetime(2026, 11, 5, tzinfo=UTC)
HOUR = 3600.0


def at(text: str) -> datetime:
    """``"2 10:00"``: 2026-11-02 at 10:00 UTC."""
    day, clock = text.split()
    hour, minute = clock.split(":")
    return datetime(2026, 11, int(day), int(hour), int(minute), tzinfo=UTC)


def promotion(
    pid: str,
    status: str,
    requested: str,
    ended: str,
    release: str,
    *,
    previous: str = "",
    started: str = "",
    rollback: bool = False,
    change: str = "",
    base: str = "build",
    app: str = "shop",
) -> Deployment:
    return Deployment(
        app=app,
        promotion_id=pid,
        release_id=release,
        previous_release_id=previous,
        status=status,
        requested_at=at(requested),
        started_at=at(started) if started else None,
        ended_at=at(ended),
        rollback=rollback,
        change_at=at(change) if change else None,
        change_base=base if change else "",
    )


def three_days(*records: Deployment, period: str = "day") -> Metrics:
    return compute(records, window(period, 3, END))


def values(points: tuple[Point, ...]) -> list[float | None]:
    return [point.value for point in points]


# A day of failures: P2 fails and is rolled back automatically, P3 restores service; on
# day two P4 goes live and a person rolls it back an hour later (Q1); P6 is cancelled.
FAILURES = (
    promotion("P1", "succeeded", "2 10:00", "2 10:10", "R1"),
    promotion("P2", "rolled_back", "2 11:00", "2 11:20", "R2", previous="R1", started="2 11:01"),
    promotion("P3", "succeeded", "2 15:00", "2 15:05", "R3", previous="R1"),
    promotion("P4", "succeeded", "3 09:00", "3 09:10", "R4", previous="R3"),
    promotion("Q1", "succeeded", "3 10:10", "3 10:15", "R5", previous="R4", rollback=True),
    promotion("P5", "succeeded", "4 09:00", "4 09:10", "R6", previous="R5"),
    promotion("P6", "cancelled", "4 10:00", "4 10:01", "R7", previous="R6"),
)


def test_deployment_frequency_counts_successful_promotions_per_day_and_averages_them() -> None:
    metrics = three_days(*FAILURES)
    # P1, P3, P4, Q1 (a rollback is a deployment) and P5: 5 in 3 days.
    assert metrics.frequency.count == 5
    assert metrics.frequency.value == pytest.approx(5 / 3)
    assert values(metrics.frequency.series) == [2.0, 2.0, 1.0]


def test_lead_time_runs_from_the_build_to_the_end_of_the_promotion_that_made_it_live() -> None:
    metrics = three_days(
        promotion("P1", "succeeded", "2 10:00", "2 10:10", "R1", change="2 09:10"),  # 1 h
        promotion("P2", "succeeded", "2 12:00", "2 12:30", "R2", change="2 10:30"),  # 2 h
        promotion("P3", "succeeded", "4 08:00", "4 08:05", "R3", change="3 08:05"),  # 24 h
    )
    assert metrics.lead_time.value == 2 * HOUR
    assert metrics.lead_time.p90 == 24 * HOUR
    assert metrics.lead_time_base == "build"
    assert values(metrics.lead_time.series) == [1.5 * HOUR, None, 24 * HOUR]


def test_lead_time_counts_a_release_once_and_skips_env_changes_and_rollbacks() -> None:
    metrics = three_days(
        promotion("P1", "succeeded", "2 10:00", "2 11:00", "R1", change="2 10:00"),  # 1 h
        promotion("P2", "succeeded", "2 12:00", "2 12:10", "R2", previous="R1"),  # env change
        promotion("P3", "succeeded", "3 09:00", "3 09:10", "R1", previous="R2", change="2 10:00"),
        promotion("P4", "succeeded", "3 10:00", "3 10:10", "R3", rollback=True, previous="R1"),
    )
    assert metrics.lead_time.count == 1
    assert metrics.lead_time.value == HOUR


def test_lead_time_says_commit_when_builds_carry_the_commits_time_and_mixed_when_some_do() -> None:
    committed = promotion(
        "P1", "succeeded", "2 10:00", "2 10:10", "R1", change="2 08:10", base="commit"
    )
    built = promotion("P2", "succeeded", "2 11:00", "2 11:10", "R2", change="2 10:40")
    assert three_days(committed).lead_time_base == "commit"
    assert three_days(committed).lead_time.value == 2 * HOUR
    assert three_days(committed, built).lead_time_base == "mixed"


def test_change_failure_rate_counts_failed_promotions_and_those_a_person_rolled_back() -> None:
    metrics = three_days(*FAILURES)
    # Ended: P1 P2 P3 P4 Q1 P5 (P6 was cancelled); failed: P2 (rolled back) and P4
    # (rolled back by a person an hour after it went live).
    assert (metrics.failures, metrics.failure_rate.count) == (2, 6)
    assert metrics.failure_rate.value == pytest.approx(1 / 3)
    assert values(metrics.failure_rate.series) == pytest.approx([1 / 3, 1 / 2, 0.0])


def test_time_to_restore_runs_from_the_failure_to_the_next_successful_promotion() -> None:
    metrics = three_days(*FAILURES)
    # P2 started failing at 11:01, P3 ended at 15:05: 4 h 04 min. Q1 was asked for at
    # 10:10 and ended at 10:15: 5 min. The median of two is their mean.
    assert metrics.time_to_restore.count == 2
    assert metrics.time_to_restore.value == (4 * HOUR + 4 * 60 + 300) / 2
    assert values(metrics.time_to_restore.series) == [4 * HOUR + 4 * 60, 300.0, None]
    assert metrics.unrestored == 0


def test_an_empty_log_deploys_zero_times_a_day_and_has_no_other_figure() -> None:
    metrics = three_days()
    assert metrics.frequency.value == 0.0
    assert values(metrics.frequency.series) == [0.0, 0.0, 0.0]
    assert metrics.lead_time.value is None and metrics.lead_time_base == ""
    assert metrics.failure_rate.value is None
    assert metrics.time_to_restore.value is None
    assert metrics.unrestored == 0


def test_only_failures_make_a_rate_of_one_and_a_single_incident_not_restored() -> None:
    metrics = three_days(
        promotion("P1", "rolled_back", "2 10:00", "2 10:10", "R1", started="2 10:01"),
        promotion("P2", "rollback_failed", "3 10:00", "3 10:10", "R2", started="3 10:01"),
    )
    assert metrics.frequency.count == 0
    assert metrics.failure_rate.value == 1.0
    assert metrics.time_to_restore.value is None
    assert metrics.unrestored == 1


def test_a_failure_not_restored_yet_counts_as_unrestored_without_a_restore_time() -> None:
    metrics = three_days(
        promotion("P1", "succeeded", "2 10:00", "2 10:10", "R1"),
        promotion("P2", "rollback_failed", "4 10:00", "4 10:10", "R2", previous="R1"),
    )
    assert metrics.failure_rate.value == 0.5
    assert metrics.time_to_restore.count == 0
    assert metrics.unrestored == 1


def test_a_rollback_later_than_the_rollback_window_is_no_failure() -> None:
    metrics = three_days(
        promotion("P1", "succeeded", "2 09:00", "2 09:10", "R1"),
        promotion("Q1", "succeeded", "3 09:11", "3 09:15", "R2", previous="R1", rollback=True),
    )
    # Q1 came 24 h 01 min after P1 went live: the window is 24 h.
    assert metrics.failures == 0
    assert metrics.time_to_restore.count == 0


def test_a_rollback_exactly_at_the_end_of_the_rollback_window_is_a_failure() -> None:
    metrics = three_days(
        promotion("P1", "succeeded", "2 09:00", "2 09:10", "R1"),
        promotion("Q1", "succeeded", "3 09:10", "3 09:15", "R2", previous="R1", rollback=True),
    )
    assert metrics.failures == 1
    assert metrics.time_to_restore.value == 300.0


def test_the_window_holds_its_start_but_not_its_end() -> None:
    metrics = compute(
        [
            promotion("P0", "succeeded", "1 23:00", "1 23:59", "R0"),  # before the start
            promotion("P1", "succeeded", "2 00:00", "2 00:00", "R1"),  # at the start
            promotion("P2", "succeeded", "4 23:00", "5 00:00", "R2"),  # at the end
        ],
        window("day", 3, END),
    )
    assert metrics.frequency.count == 1
    assert values(metrics.frequency.series) == [1.0, 0.0, 0.0]


def test_an_incident_open_across_the_windows_start_gives_no_restore_time_inside_it() -> None:
    metrics = three_days(
        promotion("P0", "rolled_back", "1 22:00", "1 22:30", "R0", started="1 22:01"),
        promotion("P1", "rolled_back", "2 08:00", "2 08:30", "R1", started="2 08:01"),
        promotion("P2", "succeeded", "2 10:00", "2 10:10", "R2"),
    )
    # One incident from 1 22:01 (before the window) to 2 10:10.
    assert metrics.time_to_restore.count == 0
    assert metrics.failures == 1


def test_weeks_start_on_monday_and_are_clipped_to_the_window() -> None:
    span = window("week", 10, END)  # from Sunday 2026-10-26 to Thursday 2026-11-05
    assert [start.date().isoformat() for start, _ in span.buckets()] == [
        "2026-10-26",
        "2026-11-02",
    ]
    metrics = compute([promotion("P1", "succeeded", "2 10:00", "2 10:10", "R1")], span)
    assert values(metrics.frequency.series) == [0.0, 1.0]
    assert metrics.frequency.value == pytest.approx(1 / 10)


def test_all_time_starts_at_midnight_before_the_oldest_promotion() -> None:
    span = window("all", 0, END, first=at("2 10:00"))
    assert span == Window(span.period, datetime(2026, 11, 2, tzinfo=UTC), END)
    metrics = compute(list(FAILURES), span)
    assert len(metrics.frequency.series) == 1
    assert metrics.frequency.value == pytest.approx(5 / 3)


def test_apps_are_pooled_overall_but_their_failures_stay_their_own() -> None:
    metrics = three_days(
        promotion("P1", "succeeded", "2 09:00", "2 09:10", "R1", app="shop"),
        promotion("P2", "succeeded", "2 10:00", "2 10:10", "R2", app="blog"),
        # A rollback in blog says nothing of shop's R1.
        promotion("Q1", "succeeded", "2 11:00", "2 11:10", "R3", previous="R1", rollback=True,
                  app="blog"),
    )  # fmt: skip
    assert metrics.apps == ("blog", "shop")
    assert metrics.frequency.count == 3
    assert metrics.failures == 0


def test_p90_is_the_nearest_rank() -> None:
    assert p90([float(n) for n in range(1, 11)]) == 9.0
    assert p90([5.0]) == 5.0
    assert p90([]) is None


@pytest.mark.parametrize(
    ("period", "days", "message"),
    [
        ("month", 3, "period must be day, week or all"),
        ("day", -1, "days must be between 0 and 366"),
        ("day", 367, "days must be between 0 and 366"),
    ],
)
def test_a_bad_window_is_refused_in_one_line(period: str, days: int, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        window(period, days, END)


def test_the_rollback_window_is_24_hours() -> None:
    assert three_days().rollback_window == timedelta(hours=24)
