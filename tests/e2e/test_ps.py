"""`ledgerctl ps` against a `ledgerd` process on the machine's Docker Engine.

One deploy for the module (two replicas of a busybox HTTP service built from source),
then what `ps` shows of it, and what it refuses: an unknown app, a key that may not read
the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import docker
import pytest

from tests.e2e.conftest import Deployment
from tests.support.docker import HTTP_APP, docker_client, remove_app, unique_app, write_context

__all__ = ["docker_client"]

pytestmark = pytest.mark.docker

MANIFEST = """\
services:
  web:
    port: 8000
    scale: 2
    health: {path: /health, grace: 3, interval: 0.2, timeout: 1}
"""


@dataclass(frozen=True)
class Deployed:
    """A ledgerd on the docker runtime, an app deployed on it, and the release that runs."""

    ledgerd: Deployment
    app: str
    release: str


@pytest.fixture(scope="module")
def deployed(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    workdir = tmp_path_factory.mktemp("ps")
    ledgerd = Deployment(
        env={"LEDGER_DATA": str(workdir / "data"), "LEDGER_RUNTIME": "docker"}, cwd=workdir
    )
    ledgerd.start()
    app = unique_app("ps")
    try:
        ledgerd.ctl("apps", "create", app)
        source = write_context(workdir / "src", HTTP_APP, {"ledger.yml": MANIFEST})
        deployed = ledgerd.js("-a", app, "deploy", str(source), "--wait")
        assert deployed["promotion"]["status"] == "succeeded"
        yield Deployed(ledgerd, app, deployed["promotion"]["release_id"])
    finally:
        for process in ledgerd.started:
            process.stop()
        remove_app(docker_client, app)


def test_ps_shows_each_replica_with_its_node_and_release(
    deployed: Deployed, docker_client: docker.DockerClient
) -> None:
    result = deployed.ledgerd.ctl("ps", deployed.app)

    header, *lines = result.out.splitlines()
    assert header.split() == ["TASK", "NODE", "STATE", "RELEASE", "PORT", "SINCE", "MESSAGE"]
    host = docker_client.info()["Name"]
    assert [line.split()[:5] for line in lines] == [
        ["web.1", host, "running", "v1", deployed.release],
        ["web.2", host, "running", "v1", deployed.release],
    ]
    assert all(line.endswith(" ago") for line in lines)


def test_ps_json_gives_each_replica_s_port_and_since(deployed: Deployed) -> None:
    tasks = deployed.ledgerd.js("-a", deployed.app, "ps")

    assert [(t["service"], t["slot"], t["state"]) for t in tasks] == [
        ("web", 1, "running"),
        ("web", 2, "running"),
    ]
    assert {t["release_id"] for t in tasks} == {deployed.release}
    assert {t["release_version"] for t in tasks} == {1}
    assert len({t["port"] for t in tasks}) == 2 and all(isinstance(t["port"], int) for t in tasks)
    assert all(t["since"] and t["message"] == "" for t in tasks)


def test_ps_of_an_unknown_app_says_it_is_not_found_and_exits_1(deployed: Deployed) -> None:
    result = deployed.ledgerd.ctl("ps", "no-such-app", ok=False)

    assert result.code == 1
    assert result.err == "ledgerctl: error: app no-such-app not found\n"
    assert result.out == ""


def test_ps_with_a_key_that_may_not_read_the_app_is_refused(deployed: Deployed) -> None:
    ledgerd = deployed.ledgerd
    ledgerd.ctl("apps", "create", "elsewhere")
    created = ledgerd.js(
        "keys", "create", "--name", "dash", "--role", "reader", "--app", "elsewhere"
    )

    result = ledgerd.ctl("--token", created["token"], "ps", deployed.app, ok=False)

    assert result.code == 1
    assert "permission denied" in result.err and f"may not read app {deployed.app}" in result.err
    assert result.out == ""
