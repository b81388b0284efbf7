"""Test doubles for both sides of the runtime port (``ledger.runtime``), without Docker.

``plan`` makes a ``RolloutPlan``; ``Recorder`` is our own ``Progress``: it records every
step and can cancel or "crash" (raise) on a given step. The fake runtimes stand in for a
runtime that misbehaves on purpose (fails chosen images, blocks until cancelled, waits to
be let through), so the ledger's side of promotions can be tested quickly. Each fake
remembers which release it runs per app, as a real runtime's engine would: the runtime
contract suite (``tests/contract``) holds the fakes to the same promises as the real
adapters, so the unit tests that use them do not rest on a runtime that could not exist.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import UTC, datetime

from ledger.domain import Cause, CauseKind, StepKind
from ledger.ids import new_id
from ledger.runtime import Progress, ReleaseSpec, RolloutPlan
from runtime.record import RecordRuntime


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


class FakeRuntime(RecordRuntime):
    """The record runtime that also remembers, per app, the release it runs."""

    name = "fake"

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
