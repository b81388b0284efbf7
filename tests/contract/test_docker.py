"""DockerRuntime held to the runtime contract, on the machine's real Docker Engine.

What runs is what the engine has for the app: every container, by replica, with its
release's version (and its state, if it is not running), and each running container is
asked over HTTP for the ``VALUE`` it was given, so a container answering for another
release shows. The failing releases print the env they were given as they fail, as many
a crashing app does: that output, and their health check's answer, reach the cause and
the steps, which must still show no env value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.error import URLError

import pytest

from ledger.domain import CauseKind, StepKind
from ledger.ids import RELEASE, new_id
from ledger.manifest import Health, Manifest
from ledger.runtime import ReleaseSpec, Runtime
from runtime.docker import DockerRuntime
from tests.contract.contract import FailureContract
from tests.contract.harness import RUNS, SLOW, Journal, RuntimeAdapter, Unit, env_of
from tests.integration.runtime.support import QUICK, get, web
from tests.support.docker import TestImages
from tests.support.runtimes import Recorder

EXITS = "exits at start"
UNHEALTHY = "fails its health check"

# Prints its env, then exits with code 3.
LEAKY_EXITING_APP = """\
echo "starting with API_TOKEN=$API_TOKEN"
echo "failing on purpose"
exit 3
"""

# Serves /cgi-bin/health answering 500 with a body naming its API_TOKEN.
LEAKY_FAILING_HEALTH_APP = """\
mkdir -p /www/cgi-bin
echo "serving with API_TOKEN=$API_TOKEN"
printf 'database unreachable with token %s\\n' "$API_TOKEN" > /www/reason
cat > /www/cgi-bin/health <<'EOF'
#!/bin/sh
printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\n'
cat /www/reason
EOF
chmod +x /www/cgi-bin/health
exec httpd -f -p "$PORT" -h /www
"""

FAILING_HEALTH = Health(path="/cgi-bin/health", grace=1.5, interval=0.2, timeout=1.0)
PATIENT = Health(path="/health", grace=30.0, interval=0.2, timeout=1.0)


class ContractImages:
    """The test images of each fate, built on first use (removed with ``test_images``)."""

    APPS: ClassVar[dict[str, str]] = {EXITS: LEAKY_EXITING_APP, UNHEALTHY: LEAKY_FAILING_HEALTH_APP}

    def __init__(self, images: TestImages) -> None:
        self.images = images
        self._built: dict[str, str] = {}

    def get(self, fate: str) -> str:
        if fate == RUNS:
            return self.images.get("http")
        if fate == SLOW:
            return self.images.get("never-healthy")
        if fate not in self._built:
            name = "contract-" + fate.replace(" ", "-")
            self._built[fate] = self.images.build(name, self.APPS[fate])
        return self._built[fate]


@pytest.fixture(scope="session")
def contract_images(test_images: TestImages) -> ContractImages:
    return ContractImages(test_images)


class DockerAdapter(RuntimeAdapter):
    name = "docker"
    failures: ClassVar[Mapping[str, CauseKind]] = {
        EXITS: CauseKind.PROCESS_FAILED,
        UNHEALTHY: CauseKind.HEALTH_CHECK_FAILED,
    }
    crash_on = StepKind.CONTAINER_HEALTHY  # web.1 of the target healthy, nothing stopped
    runtime: DockerRuntime

    def __init__(
        self, runtime: DockerRuntime, app: str, journal: Journal, images: ContractImages
    ) -> None:
        super().__init__(runtime, app, journal)
        self.images = images
        self.restarts: list[DockerRuntime] = []

    @classmethod
    def open(cls, request: pytest.FixtureRequest, journal: Journal) -> DockerAdapter:
        images: ContractImages = request.getfixturevalue("contract_images")
        app: str = request.getfixturevalue("docker_app")
        return cls(DockerRuntime(stop_timeout=5), app, journal, images)

    def release(self, version: int, fate: str = RUNS) -> ReleaseSpec:
        """Two replicas of ``web``, which requires both env keys."""
        health = {SLOW: PATIENT, UNHEALTHY: FAILING_HEALTH}.get(fate, QUICK)
        service = web(2, health, environment={"VALUE": None, "API_TOKEN": None})
        return ReleaseSpec(
            app=self.app,
            release_id=new_id(RELEASE),
            version=version,
            build_id="B" + "D" * 10,
            image=self.images.get(fate),
            env=env_of(version),
            manifest=Manifest((service,)),
        )

    def what_runs(self) -> list[Unit]:
        units = []
        for container in self.runtime.containers.of_app(self.app):
            unit = container.title
            if not container.running:
                unit += f" ({container.state})"
            if container.running and container.port is not None:
                answer = _value(container.port)
                if answer != f"value of v{container.version}":
                    unit += f" answering {answer!r}"
            units.append((unit, int(container.version)))
        return sorted(units)

    def restarted(self) -> Runtime:
        """A new DockerRuntime, as a new ledgerd builds: the engine is the only state."""
        runtime = DockerRuntime(stop_timeout=5)
        self.restarts.append(runtime)
        return runtime

    def under_way(self, progress: Recorder) -> bool:
        """A container of the target has started: cancelling finds it in its health wait."""
        return bool(progress.steps)

    def close(self) -> None:
        for runtime in (self.runtime, *self.restarts):
            runtime.close()


def _value(port: int) -> str:
    try:
        return get(port, "/value")[1]
    except (URLError, OSError) as error:
        return f"no answer: {error}"


@pytest.mark.docker
class TestDockerRuntime(FailureContract):
    adapter_type = DockerAdapter
