"""``ledgerctl apps metrics``: the DORA metrics of an app from a real ledgerd, as JSON
(snake_case keys, durations in seconds) and as a table of periods."""

from __future__ import annotations

import re

from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl

pytestmark = SQLITE_ONLY

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
METRICS = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")


def rolled_back_once(web: Ledgerctl) -> None:
    """web: v1, v2, a person's rollback to v1 (v2 failed), then v3."""
    first = web.deploy("web:1")
    web.deploy("web:2")
    web.ok("releases", "rollback", first, "--wait")
    web.deploy("web:3")


def test_json_has_the_four_metrics_with_their_series_and_figures(web: Ledgerctl) -> None:
    rolled_back_once(web)

    data = web.ok("--json", "apps", "metrics", "web", "--days", "7").json

    assert (data["app"], data["apps"], data["period"], data["days"]) == ("web", ["web"], "day", 7)
    assert TIME.fullmatch(data["start"]) and TIME.fullmatch(data["end"])
    for name in METRICS:
        assert data[name].keys() == {"value", "p90", "count", "series"}
        assert [point.keys() for point in data[name]["series"]] == [
            {"start", "end", "value", "count"}
        ] * len(data[name]["series"])
    assert data["deployment_frequency"]["count"] == 4
    assert data["deployment_frequency"]["value"] == 4 / 7
    assert (data["lead_time"]["count"], data["lead_time_base"]) == (3, "build")
    assert (data["failures"], data["change_failure_rate"]["value"]) == (1, 0.25)
    assert data["time_to_restore"]["count"] == 1
    assert (data["unrestored"], data["rollback_window_seconds"]) == (0, 86400)
    assert data["time_to_restore"]["p90"] == data["time_to_restore"]["value"]


def test_an_app_without_promotions_has_nulls_not_zeros(web: Ledgerctl) -> None:
    data = web.ok("--json", "apps", "metrics", "web", "--period", "all").json

    assert data["deployment_frequency"]["value"] is None  # all time: no time at all
    assert data["lead_time"]["value"] is None and data["lead_time_base"] is None
    assert data["change_failure_rate"]["value"] is None


def test_the_table_sums_up_the_window_then_shows_each_week(web: Ledgerctl) -> None:
    rolled_back_once(web)

    out = web.ok("apps", "metrics", "web", "--period", "week", "--days", "14").stdout

    assert "Deployment frequency  0.29/day (4 deployments)" in out
    assert "Change failure rate   25% (1 of 4)" in out
    assert "from the build (3)" in out
    header = next(line for line in out.splitlines() if line.startswith("Week"))
    assert header.split() == ["Week", "Deploys", "Lead", "time", "Failure", "rate", "Restore"]
    last = out.splitlines()[-1].split()
    assert (last[1], last[3]) == ("4", "25%")


def test_a_window_too_long_for_days_is_refused_in_one_line(web: Ledgerctl) -> None:
    result = web("apps", "metrics", "web", "--days", "400")

    assert result.code == 1
    assert result.stderr.strip().endswith("days must be between 0 and 366 for period day")
    assert len(result.stderr.strip().splitlines()) == 1
