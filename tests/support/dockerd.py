"""One test Docker engine: a ``dockerd`` of its own in a node's network namespace.

Started as ``nsenter --net=<netns> unshare --uts sh -c 'hostname NAME; exec dockerd …'``
(each ``exec`` keeps the pid, so the ``Popen`` is the engine itself):

- ``nsenter --net`` only enters the namespace; ``ip netns exec`` would also remount
  ``/sys``, and dockerd then dies with "Devices cgroup isn't mounted";
- ``unshare --uts`` gives it a hostname of its own, the node's name in the swarm;
- ``--iptables=false --bridge=none``: the machine's firewall is left alone, and tasks
  use host networking (the node's namespace);
- every path is under the engine's own short directory (unix socket paths are limited
  to about 100 characters, containerd's under the exec root among them), and
  ``--config-file`` names an empty file, so nothing of the machine's engine is shared;
- ``--cgroup-parent /NETNS`` puts its containers in a cgroup named after the node's
  namespace (``dlt-n1``), where a sweep finds them even after a crash;
- ``--insecure-registry``: it pulls from the test's plain-HTTP registry.

Its output goes to ``dockerd.log`` in its directory, whose end is quoted when it fails.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import docker

from tests.support.registry import tail
from tests.support.sweep import kill

READY_WITHIN = 60.0  # seconds an engine gets to answer /_ping
CLIENT_TIMEOUT = 30  # seconds an SDK call may take


class EngineFailed(Exception):
    """A test engine did not start (the message quotes the end of its log)."""


def answers(path: Path) -> bool:
    """Whether an engine answers ``GET /_ping`` on the unix socket ``path`` (the SDK's
    client would first ask for the API version, which fails differently)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(2)
            connection.connect(str(path))
            connection.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return connection.recv(64).split(b" ")[1:2] == [b"200"]
    except OSError:
        return False


class Dockerd:
    """The engine of node ``name``, in network namespace ``netns`` (a path)."""

    def __init__(self, name: str, netns: str, directory: Path, registry: str) -> None:
        self.name = name
        self.netns = netns
        self.directory = directory
        self.registry = registry
        self.socket = directory / "docker.sock"
        self.log = directory / "dockerd.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``unix://…``: what an SDK client or ``SwarmRuntime`` takes."""
        return f"unix://{self.socket}"

    def command(self) -> list[str]:
        """The engine's command line (see the module's docstring)."""
        root = self.directory
        dockerd = [
            "dockerd",
            "--iptables=false",
            "--bridge=none",
            f"--data-root={root / 'data'}",
            f"--exec-root={root / 'x'}",
            f"--pidfile={root / 'dockerd.pid'}",
            f"--config-file={root / 'daemon.json'}",
            f"--host={self.url}",
            f"--cgroup-parent=/{Path(self.netns).name}",
            f"--insecure-registry={self.registry}",
        ]
        # sh sets the hostname in the new UTS namespace, then becomes dockerd ($0 = name).
        namespaced = ["nsenter", f"--net={self.netns}", "unshare", "--uts"]
        return [*namespaced, "sh", "-c", 'hostname "$0" && exec "$@"', self.name, *dockerd]

    def start(self) -> None:
        """Start the process (``wait_ready`` waits for it to answer)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "daemon.json").write_text("{}\n")
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C of the test run is ours to handle
            )

    def wait_ready(self, deadline: float) -> None:
        """Wait until the engine answers ``/_ping``; ``EngineFailed`` if it exits or the
        monotonic ``deadline`` passes."""
        while not answers(self.socket):
            code = self._process.poll() if self._process is not None else -1
            if code is not None or time.monotonic() > deadline:
                state = f"exited with code {code}" if code is not None else "did not answer"
                raise EngineFailed(
                    f"dockerd of {self.name} {state}; end of {self.log}:\n{tail(self.log)}"
                )
            time.sleep(0.05)

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=CLIENT_TIMEOUT)

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def terminate(self) -> None:
        """Ask the engine to stop (SIGTERM); ``wait_stopped`` waits for it."""
        if self.running():
            assert self._process is not None
            self._process.send_signal(signal.SIGTERM)

    def wait_stopped(self, deadline: float) -> bool:
        """Wait for the engine to exit until the monotonic ``deadline``, then SIGKILL it;
        whether it exited by itself. Its containerd, shims and containers may outlive a
        killed engine: the cluster sweeps them."""
        process = self._process
        if process is None:
            return True
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
            return True
        except subprocess.TimeoutExpired:
            self.kill()
            return False

    def reap(self) -> None:
        """Collect the exit of an engine killed from outside (``Cluster.crash``)."""
        if self._process is not None:
            self._process.wait()

    def kill(self) -> None:
        """SIGKILL the engine (one that would not stop): its containerd, shims and
        tasks live on until the cluster sweeps them."""
        if self._process is not None and self._process.poll() is None:
            kill([self._process.pid])
            self._process.wait()
