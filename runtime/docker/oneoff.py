"""One-off commands (Convox's ``run``): an argv run in a new container of a release's service.

The container is made as a serving replica is (``Containers.create``: the service's image
of the release, the release's env with the manifest's defaults, host networking, an init
process as PID 1) but runs ``request.command`` (an argv, no shell) instead of the
service's command. It gets no ``$PORT``: it serves nothing, and a port handed to it would
be one no replica could have while it runs. It is labelled ``ledger.run`` instead of
``ledger.managed`` (see ``labels``), so rollouts, reconcile's choice of replicas and the
port allocator never see it as a replica: a rollout neither counts nor stops it.

Its output (stdout and stderr, as the engine interleaves them) is followed on a thread of
its own and written to the caller's ``CommandOutput`` as it comes. The calling thread
waits for the process to end, asking ``cancelled()`` and checking the timeout every
``POLL`` seconds, and kills the container (exit code 137) when either says so. The
container is removed at the end whatever happens; one left behind by a ``ledgerd`` that
died during a run is removed by ``reconcile`` at the next start (and by ``stop_app``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from ledger.errors import FailedPrecondition, InvalidArgument, NotFound
from ledger.manifest import Service
from ledger.runtime import CommandOutput, CommandRequest
from runtime.docker.containers import Containers, StartFailed
from runtime.docker.engine import ENGINE_ERRORS
from runtime.docker.labels import RUN, ContainerInfo, run_name

log = logging.getLogger(__name__)

POLL = 0.2  # seconds between two looks at cancellation, the timeout and the process
DRAIN = 5.0  # seconds the last output may take to arrive once the process has ended
STOP_WAIT = 10.0  # seconds a killed container may take to be reported ended
KILLED = 137  # 128 + SIGKILL: what a killed command exits with
NOT_RUN = 127  # the command could not be executed (what a shell says of an unknown command)


def service_of(request: CommandRequest) -> Service:
    """The manifest's service the command runs in; ``NotFound`` if the release has none."""
    for service in request.release.manifest.services:
        if service.name == request.service:
            return service
    raise NotFound(f"release v{request.release.version} has no service {request.service}")


class OneOffRunner:
    """Runs one-off commands in containers of their own, one call per command."""

    def __init__(self, containers: Containers) -> None:
        self.containers = containers

    def run(
        self, request: CommandRequest, output: CommandOutput, cancelled: Callable[[], bool]
    ) -> int:
        """Run ``request`` to its end and return its exit code (137 when killed on cancel or
        timeout, 127 when the engine could not execute it, its reason written to
        ``output``). ``NotFound``: no such service; ``FailedPrecondition``: the engine
        refused to create the container (the image is gone, say)."""
        if not request.command:
            raise InvalidArgument("no command was given to run")
        service = service_of(request)
        name = run_name(request.release.app, request.run_id)
        labels = {RUN: request.run_id}
        try:
            container = self.containers.create(
                request.release, service, name, labels, list(request.command)
            )
        except StartFailed as error:
            raise FailedPrecondition(f"the command could not be run: {error}") from None
        try:
            return self._run(container, request, output, cancelled)
        finally:
            self._discard(container)

    def _run(
        self,
        container: ContainerInfo,
        request: CommandRequest,
        output: CommandOutput,
        cancelled: Callable[[], bool],
    ) -> int:
        # Attached before it starts: no byte is missed, and none goes through the engine's
        # log driver (which stores text: invalid UTF-8 would come back replaced).
        follower = _Follower(self.containers, container, output)
        try:
            try:
                self.containers.begin(container)
            except StartFailed as error:
                output.write(f"{request.command[0]}: could not be run: {error}\n".encode())
                return NOT_RUN
            return self._wait(container, _deadline(request.timeout_seconds), cancelled, follower)
        finally:
            follower.finish(DRAIN)

    def _wait(
        self,
        container: ContainerInfo,
        deadline: float,
        cancelled: Callable[[], bool],
        follower: _Follower,
    ) -> int:
        """The exit code once the process ends, or after killing it on cancel or timeout."""
        while True:
            output_ended = follower.ended.wait(POLL)  # it ends when the process does
            state = self.containers.state(container)
            if not state.running:
                return KILLED if state.status == "removed" else state.exit_code
            if cancelled() or time.monotonic() >= deadline:
                return self._kill(container)
            if output_ended:  # the engine has not said so yet: look again shortly
                time.sleep(POLL / 4)

    def _kill(self, container: ContainerInfo) -> int:
        """Kill the command and return its exit code once the engine reports it ended."""
        self.containers.kill(container)
        until = time.monotonic() + STOP_WAIT
        while time.monotonic() < until:
            state = self.containers.state(container)
            if not state.running:
                return KILLED if state.status == "removed" else state.exit_code
            time.sleep(POLL / 4)
        return KILLED

    def _discard(self, container: ContainerInfo) -> None:
        """Remove the container; if the engine cannot be reached, reconcile will later."""
        try:
            self.containers.remove(container)
        except ENGINE_ERRORS as error:
            log.warning("could not remove %s: %s", container.name, error)


class _Follower:
    """Writes a container's output to ``output`` as it comes, on a daemon thread.

    The stream ends when the process does. An engine error or an ``output`` that raises
    ends the following (logged), not the command: the caller decides through
    ``cancelled()`` whether a command nobody reads goes on.
    """

    def __init__(
        self, containers: Containers, container: ContainerInfo, output: CommandOutput
    ) -> None:
        self.ended = threading.Event()
        self._containers = containers
        self._container = container
        self._output = output
        self._closed = False
        self._writing = threading.Lock()
        api = containers.engine.api
        self._stream: Any = api.attach(
            container.id, stdout=True, stderr=True, stream=True, logs=False
        )
        self._thread = threading.Thread(
            target=self._follow, name=f"run-{container.run}", daemon=True
        )
        self._thread.start()

    def _follow(self) -> None:
        try:
            for chunk in self._stream:
                with self._writing:
                    if self._closed:
                        break
                    self._output.write(bytes(chunk))
        except Exception as error:  # whatever stops the output, the run goes on
            if not self._closed:
                log.warning("stopped following %s: %s", self._container.name, error)
        finally:
            self.ended.set()

    def finish(self, within: float) -> None:
        """Wait up to ``within`` seconds for the rest of the output, then stop following
        (nothing is written to ``output`` once this returns)."""
        if self.ended.wait(within):
            self._thread.join()
            return
        with self._writing:
            self._closed = True
        stream = self._stream
        if stream is not None:
            stream.close()


def _deadline(timeout_seconds: int) -> float:
    """When the command is killed, as a ``time.monotonic()`` value (never when <= 0)."""
    if timeout_seconds <= 0:
        return math.inf
    return time.monotonic() + timeout_seconds
