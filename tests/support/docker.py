"""A real Docker Engine for tests: a client (or a skip), tiny test images, and cleanup.

No image can be pulled, so test images are built ``FROM scratch`` with the machine's
static busybox copied into the build context, plus an ``app.sh`` given as text (busybox
brings ``sh``, ``httpd``, ``nc``...). Building one takes well under a second.

Outside CI a missing engine skips the tests that need it, with the reason; in CI (``CI``
set) it fails them: CI machines must run the engine (``scripts/install-system-deps.sh``
starts one).

Fixtures (import them in a ``conftest.py``): ``docker_client`` (session),
``test_images`` (session: the images below, removed at the end) and ``docker_app`` (a
unique app name per test; its containers and images are removed after the test).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import docker
import pytest

BUSYBOX = Path("/bin/busybox")
MANAGED = "ledger.managed"

DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY app.sh /app.sh
CMD ["/bin/sh", "/app.sh"]
"""

# Serves /www on $PORT: /health answers 200, /value holds $VALUE as the container saw it.
HTTP_APP = """\
mkdir -p /www
echo ok > /www/health
printf '%s' "$VALUE" > /www/value
echo "serving on port $PORT"
exec httpd -f -p "$PORT" -h /www
"""

# Prints a line and exits with code 3 at once.
EXITING_APP = """\
echo "starting up, then failing on purpose"
exit 3
"""

# /health is a CGI script answering 500 with a body.
FAILING_HEALTH_APP = """\
mkdir -p /www/cgi-bin
cat > /www/cgi-bin/health <<'EOF'
#!/bin/sh
printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\n'
echo "database unreachable"
EOF
chmod +x /www/cgi-bin/health
exec httpd -f -p "$PORT" -h /www
"""

# Listens on $PORT but /health is never there (404).
NEVER_HEALTHY_APP = """\
mkdir -p /www
echo "listening, never healthy"
exec httpd -f -p "$PORT" -h /www
"""

# No port: a worker that keeps running.
WORKER_APP = """\
echo "worker up"
exec sleep 100000
"""

TEST_APPS = {
    "http": HTTP_APP,
    "exiting": EXITING_APP,
    "failing-health": FAILING_HEALTH_APP,
    "never-healthy": NEVER_HEALTHY_APP,
    "worker": WORKER_APP,
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip the test with ``reason``, or fail it in CI (tests never skip silently there)."""
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def docker_client_or_skip() -> docker.DockerClient:
    """A client of the machine's engine; skip the test if none answers (fail it in CI)."""
    problem = ""
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as error:
        problem = f"no Docker engine answers ({error})"
    else:
        if not BUSYBOX.is_file():
            problem = f"{BUSYBOX} is missing (Debian package busybox-static)"
    if problem:
        message = f"{problem}: run scripts/install-system-deps.sh as root to install and start it"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return client


def write_context(directory: Path, app_sh: str, files: Mapping[str, str] | None = None) -> Path:
    """A build context: busybox, the Dockerfile above, ``app.sh`` and any extra files."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, directory / "busybox")
    (directory / "Dockerfile").write_text(DOCKERFILE)
    (directory / "app.sh").write_text(app_sh)
    for name, text in (files or {}).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


class TestImages:
    """The session's test images, tagged ``ledger-test-<session>:<name>``."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, client: docker.DockerClient, workdir: Path) -> None:
        self.client = client
        self.workdir = workdir
        self.repository = f"ledger-test-{uuid.uuid4().hex[:8]}"
        self._built: dict[str, str] = {}

    def get(self, name: str) -> str:
        """The tag of the test image ``name`` (one of TEST_APPS), built on first use."""
        if name not in self._built:
            self._built[name] = self.build(name, TEST_APPS[name])
        return self._built[name]

    def build(self, name: str, app_sh: str) -> str:
        tag = f"{self.repository}:{name}"
        context = write_context(self.workdir / name, app_sh)
        self.client.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
        return tag

    def remove_all(self) -> None:
        """Remove this session's tags only: another session's test images have the same
        content, so the same image, listed with its tags too."""
        for image in self.client.images.list(name=self.repository):
            for tag in image.tags:
                if tag.startswith(f"{self.repository}:"):
                    self.client.images.remove(tag, force=True)


def unique_app(prefix: str = "t") -> str:
    """An app name no other test uses (``^[a-z][a-z0-9-]{0,29}$``)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def remove_app(client: docker.DockerClient, app: str) -> None:
    """Remove the app's managed containers and the images tagged ``<app>:…`` (or
    ``<registry>/<app>/…``)."""
    labels = [f"{MANAGED}=true", f"ledger.app={app}"]
    # Sparse: no inspection per container, which fails for one removed meanwhile (Swarm
    # removes the containers of tasks it replaces on its own schedule).
    for container in client.containers.list(all=True, sparse=True, filters={"label": labels}):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith(f"{app}:") or f"/{app}/" in tag:  # also as pushed to a registry
                with contextlib.suppress(docker.errors.NotFound):
                    client.images.remove(tag, force=True)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the machine's Docker Engine (the test is skipped without one)."""
    client = docker_client_or_skip()
    yield client
    client.close()


@pytest.fixture(scope="session")
def test_images(
    docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestImages]:
    """Tiny busybox images built on demand (``test_images.get("http")``), removed at the end."""
    images = TestImages(docker_client, tmp_path_factory.mktemp("images"))
    yield images
    images.remove_all()


@pytest.fixture
def docker_app(docker_client: docker.DockerClient) -> Iterator[str]:
    """A unique app name; after the test its containers and images are removed."""
    app = unique_app()
    yield app
    remove_app(docker_client, app)
