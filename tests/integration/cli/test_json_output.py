"""``--json``: the CLI's machine contract (docs/design.md), read from a real ledgerd."""

from __future__ import annotations

import re

from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl
from tests.support.contract import APP_KEYS, BUILD_KEYS, PROMOTION_KEYS, RELEASE_KEYS

pytestmark = SQLITE_ONLY

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_a_release_has_every_contract_key_and_its_env_in_releases_info(web: Ledgerctl) -> None:
    web.ok("env", "set", "A=1")
    release_id = web.deploy("web:1")

    (listed,) = web.ok("--json", "releases").json
    shown = web.ok("--json", "releases", "info", release_id, "--reveal").json

    assert listed.keys() >= RELEASE_KEYS
    assert "env" not in listed
    assert (listed["id"], listed["version"], listed["app"]) == (release_id, 1, "web")
    assert (listed["reason"], listed["parent_id"], listed["active"]) == ("build", None, True)
    assert TIME.fullmatch(listed["created_at"])
    assert shown.keys() >= RELEASE_KEYS
    assert shown["env"] == {"A": "1"}


def test_a_build_has_every_contract_key(web: Ledgerctl) -> None:
    web.ok("build", "--image", "web:1", "-d", "first")

    (listed,) = web.ok("--json", "builds").json
    shown = web.ok("--json", "builds", "info", listed["id"]).json

    assert listed.keys() >= BUILD_KEYS
    assert listed == shown
    assert (listed["app"], listed["status"], listed["image"]) == ("web", "succeeded", "web:1")
    assert listed["description"] == "first"
    assert TIME.fullmatch(listed["started_at"]) and TIME.fullmatch(listed["ended_at"])


def test_a_promotion_has_every_contract_key(web: Ledgerctl) -> None:
    first = web.deploy("web:1")
    second = web.deploy("web:2")

    latest = web.ok("--json", "promotions").json[0]
    shown = web.ok("--json", "promotions", "info", latest["id"]).json

    assert latest.keys() >= PROMOTION_KEYS
    assert shown.keys() >= PROMOTION_KEYS
    assert {k: v for k, v in shown.items() if k != "steps"} == {
        k: v for k, v in latest.items() if k != "steps"
    }
    assert [step["kind"] for step in shown["steps"]] == ["recorded"]
    assert (latest["release_id"], latest["previous_release_id"]) == (second, first)
    assert (latest["status"], latest["reason"]) == ("succeeded", "")


def test_an_app_has_every_contract_key(web: Ledgerctl) -> None:
    release_id = web.deploy("web:1")

    (listed,) = web.ok("--json", "apps").json
    shown = web.ok("--json", "apps", "info", "web").json

    assert listed.keys() >= APP_KEYS
    assert shown.keys() >= APP_KEYS
    assert listed["name"] == "web"
    assert listed["active_release_id"] == shown["active_release_id"] == release_id
    assert listed["promotion"] is None
    assert shown["active_release"]["id"] == release_id


def test_build_json_has_the_build_and_the_id_of_the_release_it_created(web: Ledgerctl) -> None:
    data = web.ok("--json", "build", "--image", "web:1").json

    assert data["build"]["status"] == "succeeded"
    assert data["release_id"] == data["build"]["release_id"]
    assert [r["id"] for r in web.ok("--json", "releases").json] == [data["release_id"]]


def test_env_json_is_its_version_its_sorted_values_and_whether_they_are_masked(
    web: Ledgerctl,
) -> None:
    web.ok("env", "set", "B=2", "A=x=y")

    assert web.ok("--json", "env", "--reveal").json == {
        "version": 1,
        "env": {"A": "x=y", "B": "2"},
        "masked": False,
    }


def test_env_set_json_reports_the_change_and_no_release_before_the_first_build(
    web: Ledgerctl,
) -> None:
    result = web.ok("--json", "env", "set", "A=1", "B=x=y", "--expect-version", "0")

    assert result.json == {
        "env_version": 1,
        "added": ["A", "B"],
        "changed": [],
        "removed": [],
        "release": None,
        "promotion": None,
    }


def test_rollback_json_has_the_new_release_and_its_promotion(web: Ledgerctl) -> None:
    first = web.deploy("web:1")
    web.deploy("web:2")

    data = web.ok("--json", "releases", "rollback", first, "--wait").json

    release, promotion = data["release"], data["promotion"]
    assert (release["parent_id"], release["reason"], release["version"]) == (first, "rollback", 3)
    assert (promotion["release_id"], promotion["status"]) == (release["id"], "succeeded")
    rolled_to = web.ok("--json", "releases", "info", first).json
    assert release["build_id"] == rolled_to["build_id"]


def test_history_json_has_each_events_data_parsed(web: Ledgerctl) -> None:
    release_id = web.build("web:1")

    (event,) = web.history("--type", "BuildSucceeded")

    assert (event["type"], event["app"], event["position"] > 0) == ("BuildSucceeded", "web", True)
    assert event["data"]["image"] == "web:1"
    assert event["data"]["release_id"] == release_id


def test_rack_releases_json_has_the_version_ledgerd_runs(ledgerctl: Ledgerctl) -> None:
    (release,) = ledgerctl.ok("--json", "rack", "releases").json

    assert release.keys() == {"version", "started_at", "until", "position"}
    assert release["version"] and release["until"] is None
    assert TIME.fullmatch(release["started_at"])
    assert release["position"] > 0
