"""``build --id`` and ``deploy --id``, the CI steps: the release id alone on stdout, progress
on stderr, and an exit code that says whether the deploy went live."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from server.infra.settings import Settings
from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl
from tests.support.docker import (
    HTTP_APP,
    NEVER_HEALTHY_APP,
    docker_app,
    docker_client,
    write_context,
)
from tests.support.ledgerd import InProcessLedgerd

__all__ = ["docker_app", "docker_client"]

RELEASE_ID = r"R\w+\n"
MANIFEST = """\
services:
  web:
    port: 8000
    health: {path: /health, grace: 2, interval: 0.2, timeout: 1}
"""


def active_release(ctl: Ledgerctl, app: str = "web") -> str | None:
    active: str | None = ctl.ok("--json", "apps", "info", app).json["active_release_id"]
    return active


# --- the record runtime: --image builds ---


@SQLITE_ONLY
def test_build_id_prints_the_release_id_alone_and_nothing_on_stderr(web: Ledgerctl) -> None:
    result = web.ok("build", "--image", "web:1", "--id")

    assert re.fullmatch(RELEASE_ID, result.stdout)
    (release,) = web.ok("--json", "releases").json
    assert (release["id"], release["active"]) == (result.stdout.strip(), False)
    assert result.stderr == ""


@SQLITE_ONLY
def test_deploy_id_promotes_waits_and_prints_only_the_live_release_id(web: Ledgerctl) -> None:
    result = web.ok("deploy", "--image", "web:1", "--id")

    assert re.fullmatch(RELEASE_ID, result.stdout)
    release = result.stdout.strip()
    assert active_release(web) == release
    (promotion,) = web.ok("--json", "promotions").json
    assert (promotion["release_id"], promotion["status"]) == (release, "succeeded")
    progress = result.stderr.splitlines()
    assert re.fullmatch(r"build    B\w+ succeeded", progress[0])
    assert progress[1] == f"release  {release}"
    assert "recorded" in progress[2]  # the rollout's step, as --wait shows it
    assert re.fullmatch(rf"promotion P\w+ of {release} succeeded", progress[-1])


@SQLITE_ONLY
def test_deploy_id_wins_over_json_and_takes_the_timeout(web: Ledgerctl) -> None:
    result = web.ok("--json", "deploy", "--image", "web:1", "--id", "--timeout", "90")

    assert re.fullmatch(RELEASE_ID, result.stdout)
    (promotion,) = web.ok("--json", "promotions").json
    assert promotion["deadline_seconds"] == 90


@SQLITE_ONLY
def test_deploy_id_of_a_failed_build_exits_1_with_nothing_on_stdout(
    web: Ledgerctl, tmp_path: Path
) -> None:
    # The record runtime builds nothing from source: the build fails, with a reason.
    directory = write_context(tmp_path / "src", HTTP_APP)

    result = web("deploy", str(directory), "--id")

    assert (result.code, result.stdout) == (1, "")
    assert re.search(r"^build    B\w+ failed", result.stderr, re.MULTILINE)
    assert re.search(r"ledgerctl: error: build B\w+ failed", result.stderr.splitlines()[-1])
    assert web.ok("--json", "promotions").json == []
    assert active_release(web) is None


@SQLITE_ONLY
def test_deploy_id_of_an_unknown_app_exits_1_before_uploading(
    ledgerctl: Ledgerctl, tmp_path: Path
) -> None:
    directory = write_context(tmp_path / "src", HTTP_APP)

    result = ledgerctl("-a", "nope", "deploy", str(directory), "--id")

    assert (result.code, result.stdout) == (1, "")
    assert "uploading" not in result.stderr


# --- what gets packed: Docker's own matcher, without the docker SDK ---


# --- the docker runtime: builds from source and real rollouts ---


@pytest.fixture
def docker_ledgerd(
    ledgerd_settings: Settings, docker_client: docker.DockerClient
) -> Iterator[InProcessLedgerd]:
    """A ledgerd with ``LEDGER_RUNTIME=docker`` on the machine's engine."""
    settings = dataclasses.replace(ledgerd_settings, runtime="docker")
    with InProcessLedgerd(settings) as server:
        yield server


@pytest.fixture
def on_docker(docker_ledgerd: InProcessLedgerd, docker_app: str) -> Ledgerctl:
    """``ledgerctl`` signed in as admin, ``LEDGER_APP`` a fresh app of the docker runtime."""
    ctl = Ledgerctl(docker_ledgerd.address, docker_ledgerd.token)
    ctl.environ["LEDGER_APP"] = docker_app
    ctl.ok("apps", "create", docker_app)
    return ctl


@SQLITE_ONLY
@pytest.mark.docker
def test_build_id_of_a_directory_keeps_the_upload_and_the_log_on_stderr(
    on_docker: Ledgerctl, docker_app: str, tmp_path: Path
) -> None:
    directory = write_context(tmp_path / "src", HTTP_APP, {"ledger.yml": MANIFEST})

    result = on_docker.ok("build", str(directory), "--id")

    assert re.fullmatch(RELEASE_ID, result.stdout)
    assert "uploaded" in result.stderr and "FROM scratch" in result.stderr
    assert active_release(on_docker, docker_app) is None


@SQLITE_ONLY
@pytest.mark.docker
def test_deploy_id_of_a_directory_exits_3_and_prints_nothing_when_the_rollout_fails(
    on_docker: Ledgerctl, docker_app: str, tmp_path: Path
) -> None:
    good = on_docker.ok(
        "deploy", str(write_context(tmp_path / "good", HTTP_APP, {"ledger.yml": MANIFEST})), "--id"
    ).stdout.strip()
    assert active_release(on_docker, docker_app) == good
    failing = write_context(tmp_path / "bad", NEVER_HEALTHY_APP, {"ledger.yml": MANIFEST})

    result = on_docker("deploy", str(failing), "--id")

    assert (result.code, result.stdout) == (3, "")
    last = result.stderr.splitlines()[-1]
    assert re.match(r"ledgerctl: error: promotion P\w+ rolled_back", last), result.stderr
    assert "404" in result.stderr  # the cause, not a bare "rolled back"
    assert active_release(on_docker, docker_app) == good
