"""Building, deploying, promoting and rolling back, with and without --wait."""

from __future__ import annotations

import re

from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl

pytestmark = SQLITE_ONLY


def step_line(version: int) -> str:
    """The one step the record runtime takes, as ``--wait`` prints it."""
    return (
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  recorded  " + f"release v{version} recorded as running"
    )


def test_build_prints_the_build_and_the_release_it_created(web: Ledgerctl) -> None:
    result = web.ok("build", "--image", "nginx:1", "-d", "first")

    word, build_id, status, label, release_id = result.stdout.split()
    assert (word, status, label) == ("build", "succeeded", "release")
    shown = web.ok("--json", "builds", "info", build_id).json
    assert (shown["image"], shown["description"]) == ("nginx:1", "first")
    assert shown["release_id"] == release_id


def test_build_with_id_prints_only_the_release_id(web: Ledgerctl) -> None:
    result = web.ok("build", "--image", "nginx:1", "--id")

    (release,) = web.ok("--json", "releases").json
    assert result.stdout == f"{release['id']}\n"


def test_wait_prints_each_step_on_stderr_and_exits_0_when_the_promotion_succeeds(
    web: Ledgerctl,
) -> None:
    release_id = web.build("web:1")

    result = web.ok("releases", "promote", release_id, "--wait")

    assert re.fullmatch(rf"promotion P\w+ of {release_id} succeeded\n", result.stdout)
    assert len(result.stderr.splitlines()) == 1
    assert re.fullmatch(step_line(1), result.stderr.splitlines()[0])


def test_promote_without_a_release_promotes_the_latest_one(web: Ledgerctl) -> None:
    web.build("web:1")
    latest = web.build("web:2")

    promotion = web.ok("--json", "releases", "promote", "--wait").json

    assert (promotion["release_id"], promotion["status"]) == (latest, "succeeded")
    assert web.ok("--json", "apps", "info", "web").json["active_release_id"] == latest


def test_promote_timeout_is_the_promotions_deadline(web: Ledgerctl) -> None:
    release_id = web.build("web:1")

    promotion = web.ok("--json", "releases", "promote", release_id, "--timeout", "120").json

    assert promotion["deadline_seconds"] == 120


def test_deploy_builds_then_promotes_the_release_of_that_build(web: Ledgerctl) -> None:
    data = web.ok("--json", "deploy", "--image", "nginx:1", "--wait").json

    assert data["promotion"]["release_id"] == data["build"]["release_id"]
    assert data["promotion"]["status"] == "succeeded"
    active = web.ok("--json", "apps", "info", "web").json["active_release_id"]
    assert active == data["build"]["release_id"]


def test_deploy_prints_the_build_its_release_and_the_promotion(web: Ledgerctl) -> None:
    result = web.ok("deploy", "--image", "nginx:1", "--wait")

    build_line, release_line, promotion_line = result.lines
    release_id = release_line.split()[1]
    assert re.fullmatch(r"build    B\w+ succeeded", build_line)
    assert release_line == f"release  {release_id}"
    assert re.fullmatch(rf"promotion P\w+ of {release_id} succeeded", promotion_line)


def test_env_set_with_promote_and_wait_makes_the_new_release_active(web: Ledgerctl) -> None:
    web.deploy("web:1")

    result = web.ok("env", "set", "A=1", "--promote", "--wait")

    change, release_line, promotion_line = result.lines
    release_id = release_line.split()[2]
    assert (change, release_line) == ("env v1: +A", f"release v2 {release_id}")
    assert re.fullmatch(rf"promotion P\w+ of {release_id} succeeded", promotion_line)
    assert re.fullmatch(step_line(2), result.stderr.strip())
    assert web.ok("--json", "apps", "info", "web").json["active_release_id"] == release_id
