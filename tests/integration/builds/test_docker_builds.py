"""``ledgerctl build DIR`` / ``deploy DIR`` / ``builds logs`` with ledgerd on the real Docker
Engine (``LEDGER_RUNTIME=docker``): FROM-scratch images with the machine's busybox."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.cli.runner import Ledgerctl, Result
from tests.support.builds import stored_log, upload
from tests.support.docker import HTTP_APP, remove_app, unique_app, write_context

pytestmark = pytest.mark.docker

FAILING = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "false"]
"""
# The nonce makes every test build its own layers: a cached RUN would not sleep.
SLOW = """\
FROM scratch
COPY busybox /bin/busybox
COPY nonce /nonce
RUN ["/bin/busybox", "sleep", "4"]
CMD ["/bin/busybox", "sleep", "1000"]
"""
FAST = """\
FROM scratch
COPY busybox /bin/busybox
COPY nonce /nonce
CMD ["/bin/busybox", "sleep", "1000"]
"""
HEALTHY_WEB = """\
services:
  web:
    port: 3000
    health: {path: /health, grace: 20, interval: 0.5, timeout: 2}
"""


def source(directory: Path, dockerfile: str | None = None, **files: str) -> Path:
    extra = {"nonce": uuid.uuid4().hex, **files}
    if dockerfile is not None:
        extra["Dockerfile"] = dockerfile
    return write_context(directory, HTTP_APP, extra)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def running_build(client: LedgerStub, app: str) -> pb.Build | None:
    builds = client.ListBuilds(pb.ListBuildsRequest(app=app)).builds
    return builds[0] if builds and builds[0].status == "running" else None


def test_build_of_a_directory_prints_its_log_and_creates_a_release(
    ledgerctl: Ledgerctl, docker_client: docker.DockerClient, docker_app: str, tmp_path: Path
) -> None:
    directory = source(tmp_path / "src", **{".dockerignore": "secret.txt\n", "secret.txt": "no"})
    ledgerctl.ok("apps", "create", docker_app)

    result = ledgerctl("-a", docker_app, "--json", "build", str(directory))

    assert result.code == 0, result.stderr
    build = result.json["build"]
    assert build["status"] == "succeeded"
    assert "Step 1/5 : FROM scratch" in result.stderr
    assert f"Successfully tagged {docker_app}:{build['id']}" in result.stderr
    image = docker_client.images.get(f"{docker_app}:{build['id']}")
    assert build["images"] == {"web": image.id}
    release = ledgerctl.ok(
        "-a", docker_app, "--json", "releases", "info", result.json["release_id"]
    )
    assert (release.json["build_id"], release.json["active"]) == (build["id"], False)


def test_a_failing_dockerfile_gives_a_failed_build_with_the_error_in_its_log_and_no_release(
    ledgerctl: Ledgerctl, docker_app: str, tmp_path: Path
) -> None:
    directory = source(tmp_path / "src", FAILING)
    ledgerctl.ok("apps", "create", docker_app)

    result = ledgerctl("-a", docker_app, "build", str(directory))

    assert result.code == 1
    build_id = result.lines[0].split()[1]
    assert "returned a non-zero code: 1" in result.stderr  # the log, followed live
    assert result.stderr.splitlines()[-1].startswith(f"ledgerctl: error: build {build_id} failed")
    logs = ledgerctl.ok("-a", docker_app, "builds", "logs", build_id).stdout
    assert "returned a non-zero code: 1" in logs
    assert ledgerctl.ok("-a", docker_app, "--json", "releases").json == []


def test_two_builds_run_at_once_and_an_env_change_of_the_app_completes_meanwhile(
    ledgerctl: Ledgerctl,
    client: LedgerStub,
    docker_client: docker.DockerClient,
    docker_app: str,
    tmp_path: Path,
) -> None:
    other = unique_app()
    results: dict[str, Result] = {}

    def build(name: str, app: str, directory: Path) -> threading.Thread:
        def run() -> None:
            results[name] = ledgerctl("-a", app, "--json", "build", str(directory))

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    try:
        for app in (docker_app, other):
            ledgerctl.ok("apps", "create", app)
        slow = build("slow", docker_app, source(tmp_path / "slow", SLOW))
        wait_for(lambda: (b := running_build(client, docker_app)) is not None
                 and "sleep" in stored_log(client, docker_app, b.id))  # fmt: skip

        ledgerctl.ok("-a", docker_app, "env", "set", "COLOUR=blue")
        assert slow.is_alive()  # the env change did not wait for the build
        fast = build("fast", other, source(tmp_path / "fast", FAST))
        fast.join(60)
        assert slow.is_alive()  # the second build did not wait for the first either
        slow.join(60)
    finally:
        remove_app(docker_client, other)

    assert results["fast"].code == 0, results["fast"].stderr
    assert results["slow"].code == 0, results["slow"].stderr
    assert results["slow"].json["build"]["status"] == "succeeded"
    release_id = results["slow"].json["release_id"]
    release = ledgerctl.ok("-a", docker_app, "--json", "releases", "info", release_id).json
    assert release["env_keys"] == ["COLOUR"]  # the env head when the build ended


def test_builds_logs_follows_a_running_build_until_it_ends(
    ledgerctl: Ledgerctl, client: LedgerStub, docker_app: str, tmp_path: Path
) -> None:
    ledgerctl.ok("apps", "create", docker_app)
    created = client.CreateBuild(upload(docker_app, source(tmp_path / "src", SLOW)))
    assert created.status == "running"

    result = ledgerctl("-a", docker_app, "builds", "logs", created.id)

    assert result.code == 0, result.stderr
    assert f"Successfully tagged {docker_app}:{created.id}" in result.stdout
    ended = client.GetBuild(pb.GetBuildRequest(app=docker_app, id=created.id))
    assert ended.status == "succeeded"
    assert result.stdout == stored_log(client, docker_app, created.id)


def test_deploy_of_a_directory_builds_and_promotes_its_release(
    ledgerctl: Ledgerctl, docker_app: str, tmp_path: Path
) -> None:
    directory = source(tmp_path / "src", **{"ledger.yml": HEALTHY_WEB})
    ledgerctl.ok("apps", "create", docker_app)

    result = ledgerctl("-a", docker_app, "--json", "deploy", str(directory), "--wait")

    assert result.code == 0, result.stderr
    promotion = result.json["promotion"]
    assert promotion["status"] == "succeeded"
    app = ledgerctl.ok("--json", "apps", "info", docker_app).json
    assert app["active_release_id"] == result.json["build"]["release_id"]
