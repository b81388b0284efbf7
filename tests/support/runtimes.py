"""Test doubles for both sides of the runtime port (``ledger.runtime``), without Docker.

``plan`` makes a ``RolloutPlan``; ``Recorder`` is our own ``Progress``: it records every
step and can cancel or "crash" (raise) on a given step; ``Collected`` is our own
``CommandOutput``. The fake runtimes stand in for a runtime that misbehaves on purpose
(fails chosen images, blocks until cancelled, waits to be let through), so the ledger's
side of promotions can be tested quickly. Each fake remembers which release it runs per
app, as a real runtime's engine would, and runs one-off commands as local processes, so
the use cases of ``run`` get real output and exit codes without Docker. The runtime
contract suite (``tests/contract``) holds the fakes to the same promises as the real
adapters, so the unit tests that use them do not rest on a runtime that could not exist.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import IO

from ledger.domain import Cause, CauseKind, StepKind
from ledger.errors import InvalidArgument, NotFound
from ledger.ids import new_id
from ledger.manifest import Service
from ledger.runtime import CommandOutput, CommandRequest, Progress, ReleaseSpec, RolloutPlan
from runtime.record import RecordRuntime

TICK = 0.02  # seconds between two looks at a one-off command (and its cancel and timeout)
KILLED = 137  # what a killed command exits with (128 + SIGKILL), as in a container
NOT_RUN = 127  # a command that could not be executed, as a shell reports it


def plan(
    target: ReleaseSpec, previous: ReleaseSpec | None = None, deadline: int = 120
) -> RolloutPlan:
    """A promotion of ``target`` replacing ``previous``, starting now."""
    return RolloutPlan(
        promotion_id=new_id("P"),
        app=target.app,
        target=target,
        previous=previous,
        deadline_seconds=deadline,
        started_at=datetime.now(UTC),
    )


class SimulatedCrash(Exception):
    """Raised from a step to abandon a rollout where a killed ledgerd would have stopped."""


class Recorder:
    """Our own Progress: records every step; cancels or 'crashes' on a given step kind,
    or when told to (``cancel()``, from any thread). Counts how often it was asked
    whether the promotion is cancelled (``polls``)."""

    def __init__(self, cancel_on: str = "", crash_on: str = "") -> None:
        self.steps: list[tuple[str, str]] = []
        self.cancel_on = cancel_on
        self.crash_on = crash_on
        self.polls = 0
        self._cancelled = threading.Event()
        self._lock = threading.Lock()

    def step(self, kind: StepKind, message: str) -> None:
        with self._lock:
            self.steps.append((kind, message))
        if kind == self.cancel_on:
            self._cancelled.set()
        if kind == self.crash_on:
            raise SimulatedCrash(message)

    def cancelled(self) -> bool:
        with self._lock:
            self.polls += 1
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def kinds(self) -> list[str]:
        with self._lock:
            return [kind for kind, _ in self.steps]

    def messages(self, kind: str) -> list[str]:
        with self._lock:
            return [message for k, message in self.steps if k == kind]


class Collected:
    """Our own CommandOutput: keeps what a command wrote (thread-safe)."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._data += data

    @property
    def data(self) -> bytes:
        with self._lock:
            return bytes(self._data)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


class FakeRuntime(RecordRuntime):
    """The record runtime that also remembers, per app, the release it runs, and runs
    one-off commands as local processes."""

    name = "fake"
    runs_commands = True

    def __init__(self) -> None:
        self.running: dict[str, ReleaseSpec] = {}
        self.lock = threading.Lock()

    def runs(self, app: str, release: ReleaseSpec | None) -> None:
        """Remember ``release`` as what runs for ``app`` (nothing when None)."""
        with self.lock:
            if release is None:
                self.running.pop(app, None)
            else:
                self.running[app] = release

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        cause = super().roll_out(plan, progress)
        self.runs(plan.app, plan.target)
        return cause

    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        cause = super().restore(plan, progress)
        self.runs(plan.app, plan.previous)
        return cause

    def stop_app(self, app: str) -> None:
        """Forget the app's running release (its one-off commands run on, to their end)."""
        self.runs(app, None)

    def run_command(
        self, request: CommandRequest, output: CommandOutput, cancelled: Callable[[], bool]
    ) -> int:
        """Run the argv (no shell) as a local process with only the env a container of the
        service gets (the release's, with the manifest's defaults) plus ``PATH``; its
        stdout and stderr go to ``output`` as they come. Killed, with its children, on
        cancel or timeout (137); 127 (the reason in ``output``) if it cannot be run."""
        if not request.command:
            raise InvalidArgument("no command was given to run")
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            **_service(request).env_for(request.release.env),
        }
        try:
            process = subprocess.Popen(
                list(request.command),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a kill reaches its children
            )
        except OSError as error:
            output.write(f"{request.command[0]}: could not be run: {error.strerror}\n".encode())
            return NOT_RUN
        assert process.stdout is not None
        pump = threading.Thread(target=_pump, args=(process.stdout, output), daemon=True)
        pump.start()
        code = _wait(process, request.timeout_seconds, cancelled)
        pump.join()
        return code


def _service(request: CommandRequest) -> Service:
    for service in request.release.manifest.services:
        if service.name == request.service:
            return service
    raise NotFound(f"release v{request.release.version} has no service {request.service}")


def _pump(stream: IO[bytes], output: CommandOutput) -> None:
    """Copy a process's output to ``output`` as it comes, until the process closes it."""
    with stream:
        while chunk := os.read(stream.fileno(), 65536):
            output.write(chunk)


def _wait(process: subprocess.Popen[bytes], timeout: int, cancelled: Callable[[], bool]) -> int:
    """The process's exit code, after killing it on cancel or timeout. Whatever it left
    running is killed when it ends, as everything in a container ends with its PID 1
    (its group is killed before it is reaped, so the group's id cannot be another's)."""
    deadline = time.monotonic() + timeout if timeout > 0 else float("inf")
    killed = False
    while not killed and not _ended(process):
        if cancelled() or time.monotonic() >= deadline:
            killed = True
        else:
            time.sleep(TICK)
    with contextlib.suppress(ProcessLookupError):  # nothing of it is left
        os.killpg(process.pid, signal.SIGKILL)
    code = process.wait()
    if killed:
        return KILLED
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as sh says


def _ended(process: subprocess.Popen[bytes]) -> bool:
    """Whether the process has ended, without reaping it."""
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


class FailingRuntime(FakeRuntime):
    """Fails every rollout of an image in ``fail_images`` as a process that exited;
    ``restore_fails``: every restore fails too."""

    name = "failing"

    def __init__(self, fail_images: set[str], restore_fails: bool = False) -> None:
        super().__init__()
        self.fail_images = fail_images
        self.restore_fails = restore_fails

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        progress.step(StepKind.CONTAINER_STARTED, f"starting {plan.target.image}")
        if plan.target.image in self.fail_images:
            return Cause(
                CauseKind.PROCESS_FAILED, "web exited with code 3", service="web", exit_code=3
            )
        self.runs(plan.app, plan.target)
        return None

    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        if self.restore_fails:
            return Cause(CauseKind.RUNTIME_ERROR, "old containers are gone")
        progress.step(StepKind.RESTORED, "previous release running")
        self.runs(plan.app, plan.previous)
        return None


class BlockingRuntime(FailingRuntime):
    """Rolls out until cancelled: every rollout, or only those of ``block_images`` (the
    others roll out as ``FailingRuntime`` does)."""

    def __init__(self, block_images: Collection[str] | None = None) -> None:
        super().__init__(set())
        self.block_images = block_images
        self.started = threading.Event()

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        if self.block_images is not None and plan.target.image not in self.block_images:
            return super().roll_out(plan, progress)
        self.started.set()
        while not progress.cancelled():
            threading.Event().wait(0.01)
        return Cause(CauseKind.CANCELLED, "stopped")


class GatedRuntime(FakeRuntime):
    """Each rollout waits until its release is let through (or the promotion is
    cancelled), then is recorded as the record runtime records it."""

    name = "gated"

    def __init__(self) -> None:
        super().__init__()
        self.gates: dict[str, threading.Event] = {}
        self.started: list[str] = []

    def gate(self, release_id: str) -> threading.Event:
        with self.lock:
            return self.gates.setdefault(release_id, threading.Event())

    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        with self.lock:
            self.started.append(plan.target.release_id)
        gate = self.gate(plan.target.release_id)
        while not gate.wait(0.01):
            if progress.cancelled():
                return Cause(CauseKind.CANCELLED, "cancelled")
        return super().roll_out(plan, progress)
