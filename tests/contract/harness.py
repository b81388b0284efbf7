"""How the runtime contract drives one runtime: the adapter each runtime provides, and the
checks every scenario shares.

A ``RuntimeAdapter`` knows, for one runtime, how to make a release of each fate a
scenario needs (one that runs, one per way it can fail, one slow enough to cancel), how
to observe what runs for the scenario's app, and which promises it cannot show: a
capability property whose docstring says why (``gap`` turns it into a skip that quotes
the reason, never a silent one). A ``Journal`` hands out the scenario's recording
Progress objects and keeps them, so that every step reported in a scenario is checked.
``Background`` and ``CommandRun`` run a rollout and a one-off command on a thread.

Every release carries ``SECRET`` in its env: env values are secrets, and no step
message or cause field may ever show one.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import pytest

from ledger.domain import Cause, CauseKind, StepKind
from ledger.ids import RELEASE, new_id
from ledger.runtime import CommandRequest, ReleaseSpec, RolloutPlan, Runtime
from tests.support.runtimes import Collected, Recorder

SECRET = "sentinel-secret-5f1c9e27"
"""An env value of every release of the contract (as ``API_TOKEN``)."""

RUNS = "runs"  # the fate of a release that runs
SLOW = "slow"  # the fate of a release whose rollout lasts until it is cancelled

Unit = tuple[str, int]
"""One thing that runs for an app (a container, a record) and its release's version."""


def env_of(version: int) -> dict[str, str]:
    """The env of a contract release: a plain value, and the secret."""
    return {"VALUE": f"value of v{version}", "API_TOKEN": SECRET}


def plain_release(app: str, version: int, image: str) -> ReleaseSpec:
    """A release of the default one-service manifest running ``image``."""
    return ReleaseSpec(
        app=app,
        release_id=new_id(RELEASE),
        version=version,
        build_id="B" + "C" * 10,
        image=image,
        env=env_of(version),
    )


def versions(units: list[Unit]) -> set[int]:
    return {version for _, version in units}


class Journal:
    """The Progress objects of one scenario, in the order they were handed out."""

    def __init__(self) -> None:
        self.recorders: list[Recorder] = []

    def progress(self, crash_on: str = "") -> Recorder:
        recorder = Recorder(crash_on=crash_on)
        self.recorders.append(recorder)
        return recorder

    @property
    def steps(self) -> list[tuple[str, str]]:
        return [step for recorder in self.recorders for step in recorder.steps]

    def problems(self) -> list[str]:
        """Every step reported in the scenario that breaks the port's promises."""
        return step_problems(self.steps)


def step_problems(steps: list[tuple[str, str]]) -> list[str]:
    """How ``steps`` break the port's promise: each a ``StepKind``, with a message that
    shows no env value."""
    found = []
    for kind, message in steps:
        if not isinstance(kind, StepKind):
            found.append(f"step kind {kind!r} is not a StepKind ({message!r})")
        if not message.strip():
            found.append(f"step {kind!r} has no message")
        if SECRET in message:
            found.append(f"step {kind!r} shows an env value: {message!r}")
    return found


def cause_problems(cause: Cause) -> list[str]:
    """How ``cause`` breaks the port's promise of a structured, secret-free cause."""
    found = []
    if not isinstance(cause.kind, CauseKind):
        found.append(f"cause kind {cause.kind!r} is not a CauseKind")
    if not cause.message.strip():
        found.append("the cause has no message")
    for field in dataclasses.fields(cause):
        value = getattr(cause, field.name)
        if isinstance(value, str) and SECRET in value:
            found.append(f"cause field {field.name} shows an env value: {value!r}")
    return found


class RuntimeAdapter(ABC):
    """One runtime as the contract drives it, for one scenario and one app."""

    name: ClassVar[str]
    failures: ClassVar[Mapping[str, CauseKind]] = {"fails": CauseKind.PROCESS_FAILED}
    """The ways a release of this runtime can fail, each with the kind of cause it gives
    (each failure scenario runs once per way)."""
    crash_on: ClassVar[StepKind]
    """The step on which an interrupted rollout 'crashes' (the Progress raises)."""
    cancel_within: ClassVar[float] = 5.0
    """Seconds within which ``roll_out`` must return once ``cancelled()`` turns true."""

    def __init__(self, runtime: Runtime, app: str, journal: Journal) -> None:
        self.runtime = runtime
        self.app = app
        self.journal = journal

    @classmethod
    @abstractmethod
    def open(cls, request: pytest.FixtureRequest, journal: Journal) -> RuntimeAdapter:
        """The adapter of one scenario (``request`` gives the fixtures it needs)."""

    @abstractmethod
    def release(self, version: int, fate: str = RUNS) -> ReleaseSpec:
        """Release ``version`` of the app, with env ``env_of(version)``; ``fate`` is
        ``RUNS``, ``SLOW`` or one of ``failures``."""

    @abstractmethod
    def what_runs(self) -> list[Unit]:
        """Everything the runtime has for the app now, sorted (something left over that
        does not run shows so in its name)."""

    def restarted(self) -> Runtime:
        """The runtime a new ``ledgerd`` would build after a crash."""
        return self.runtime

    def under_way(self, progress: Recorder) -> bool:
        """Whether a rollout reporting to ``progress`` has begun its work."""
        return bool(progress.steps) or progress.polls > 0

    def close(self) -> None:
        self.runtime.close()

    @property
    def stops_when_cancelled(self) -> bool:
        """A rollout cancelled under way returns a ``cancelled`` cause (False: it has
        finished by then and returns None)."""
        return True


class Background:
    """``roll_out`` run on a daemon thread, as the promoter runs it (a rollout that never
    returns cannot hang the test run)."""

    def __init__(self, runtime: Runtime, plan: RolloutPlan, progress: Recorder) -> None:
        self.cause: Cause | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(runtime, plan, progress), daemon=True
        )
        self._thread.start()

    def _run(self, runtime: Runtime, plan: RolloutPlan, progress: Recorder) -> None:
        try:
            self.cause = runtime.roll_out(plan, progress)
        except BaseException as error:
            self.error = error
        finally:
            self.done.set()

    def result(self, within: float) -> Cause | None:
        """What ``roll_out`` returned; fails the test if it takes longer than ``within``."""
        if not self.done.wait(within):
            raise AssertionError(f"roll_out did not return within {within:g} s")
        if self.error is not None:
            raise self.error
        return self.cause


LONG = ("sh", "-c", "echo started; sleep 60")  # a command that runs until it is stopped


def command(
    release: ReleaseSpec, *argv: str, service: str = "web", timeout: int = 60
) -> CommandRequest:
    """A one-off run of ``argv`` in ``service`` of ``release``."""
    return CommandRequest(
        run_id=new_id("C"), release=release, service=service, command=argv, timeout_seconds=timeout
    )


@dataclass(frozen=True)
class Finished:
    """A one-off command run to its end: its exit code and what it wrote."""

    code: int
    output: Collected


def run(adapter: RuntimeAdapter, *argv: str, release: ReleaseSpec | None = None) -> Finished:
    """Run ``argv`` in release v1 of the app (or ``release``) to its end."""
    output = Collected()
    request = command(release or adapter.release(1), *argv)
    return Finished(adapter.runtime.run_command(request, output, lambda: False), output)


class CommandRun:
    """``run_command`` on a daemon thread, as a use case would run it, with a cancel switch
    (a command that never returns cannot hang the test run)."""

    def __init__(self, runtime: Runtime, request: CommandRequest) -> None:
        self.output = Collected()
        self.cancel = threading.Event()
        self.done = threading.Event()
        self._code: int | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(runtime, request), daemon=True).start()

    def _run(self, runtime: Runtime, request: CommandRequest) -> None:
        try:
            self._code = runtime.run_command(request, self.output, self.cancel.is_set)
        except BaseException as error:
            self._error = error
        finally:
            self.done.set()

    def result(self, within: float) -> int:
        """The exit code; fails the test if the command takes longer than ``within``."""
        if not self.done.wait(within):
            raise AssertionError(f"run_command did not return within {within:g} s")
        if self._error is not None:
            raise self._error
        assert self._code is not None
        return self._code


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout:g} s: {condition}")
        time.sleep(0.01)
