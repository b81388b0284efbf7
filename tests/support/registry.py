"""A private image registry for tests: Debian's ``docker-registry`` serving a temp dir.

Images reach the nodes of a swarm through a registry. No public one can be reached, so
the tests run their own: the ``docker-registry`` binary (Debian package
``docker-registry``; ``scripts/install-system-deps.sh`` installs it) with filesystem
storage, plain HTTP, no auth. Engines pull from it as an insecure registry: the
machine's engine treats 127.0.0.0/8 so already; a test cluster's engines are started
with ``--insecure-registry`` for its address.

``LocalRegistry`` is one such process (``start``/``stop``, ``.address`` "host:port",
its log file; not to be confused with the runtime's ``Registry`` seam, which it feeds).
The session fixture ``registry`` starts one on 127.0.0.1 for the tests that use the
machine's engine; ``tests.support.cluster`` starts one on its bridge.
Outside CI a missing binary skips the tests that need it, with the reason; in CI (``CI``
set) it fails them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docker import skip_or_fail

BINARY = "docker-registry"
READY_WITHIN = 30.0  # seconds a registry gets to answer GET /v2/
STOP_WITHIN = 10.0  # seconds it gets to exit on SIGTERM before SIGKILL

CONFIG = """\
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {address}
"""

# Never through a proxy from the environment: the registry is on this machine.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file ("" if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class LocalRegistry:
    """One ``docker-registry serve`` process storing its images under ``directory``."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        """``port`` 0: a free one, chosen at ``start`` (``host`` may not exist before)."""
        self.directory = directory
        self.host = host
        self.port = port
        self.log = directory / "registry.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``host:port``, as image references name the registry."""
        return f"{self.host}:{self.port}"

    def start(self) -> LocalRegistry:
        """Start the process and wait until it answers; ``RuntimeError`` (with the end of
        its log) if it does not within ``READY_WITHIN`` seconds."""
        self.port = self.port or free_port(self.host)
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "config.yml"
        storage = self.directory / "storage"
        config.write_text(CONFIG.format(storage=storage, address=self.address))
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [BINARY, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run is ours to handle
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN
        while not self.answers():
            assert self._process is not None
            code = self._process.poll()
            if code is not None or time.monotonic() > deadline:
                self.stop()
                state = f"exited with code {code}" if code is not None else "did not answer"
                raise RuntimeError(
                    f"the registry on {self.address} {state}; end of {self.log}:\n{tail(self.log)}"
                )
            time.sleep(0.05)

    def answers(self) -> bool:
        """Whether ``GET /v2/`` answers 200."""
        try:
            with _DIRECT.open(f"http://{self.address}/v2/", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after ``STOP_WITHIN`` seconds)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LocalRegistry:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def missing_registry() -> str:
    """Why no test registry can run here ("" if one can)."""
    if shutil.which(BINARY) is None:
        return (
            f"{BINARY} is missing (Debian package docker-registry): run "
            "scripts/install-system-deps.sh as root to install it"
        )
    return ""


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A registry on 127.0.0.1:<free port> for the session (skipped without the binary
    outside CI)."""
    reason = missing_registry()
    if reason:
        skip_or_fail(reason)
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as running:
        yield running
