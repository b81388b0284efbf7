"""The fake runtimes of the unit tests (``tests.support.runtimes``) held to the runtime
contract, so that the promoter's unit tests rest on runtimes that keep its promises.

Each fake remembers the release it runs per app: that is what the contract observes.
Each runs one-off commands as local processes, so each is held to ``CommandContract``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest

from ledger.domain import CauseKind, StepKind
from ledger.runtime import ReleaseSpec
from tests.contract.contract import CommandContract, FailureContract
from tests.contract.harness import RUNS, SLOW, Journal, RuntimeAdapter, Unit, plain_release
from tests.support.docker import unique_app
from tests.support.runtimes import BlockingRuntime, FailingRuntime, FakeRuntime, GatedRuntime

BAD = "bad:1"  # the image the failing fakes fail
BLOCKING = "slow:1"  # the image the blocking fake blocks on


class FakeAdapter(RuntimeAdapter):
    """What a fake runs is what it remembers running for the app."""

    runtime: FakeRuntime

    def what_runs(self) -> list[Unit]:
        running = self.runtime.running.get(self.app)
        return [("release", running.version)] if running is not None else []

    def image(self, version: int, fate: str) -> str:
        return f"{self.app}:{version}"

    def release(self, version: int, fate: str = RUNS) -> ReleaseSpec:
        return plain_release(self.app, version, self.image(version, fate))


class FailingAdapter(FakeAdapter):
    name = "failing"
    crash_on = StepKind.CONTAINER_STARTED

    @classmethod
    def open(cls, request: pytest.FixtureRequest, journal: Journal) -> FailingAdapter:
        return cls(FailingRuntime({BAD}), unique_app(), journal)

    def image(self, version: int, fate: str) -> str:
        return BAD if fate in self.failures else super().image(version, fate)

    @property
    def stops_when_cancelled(self) -> bool:
        """FailingRuntime finishes every rollout at once and never asks whether it is
        cancelled: ``roll_out`` returns None, with the target running."""
        return False


class BlockingAdapter(FailingAdapter):
    name = "blocking"

    @classmethod
    def open(cls, request: pytest.FixtureRequest, journal: Journal) -> BlockingAdapter:
        runtime = BlockingRuntime(block_images={BLOCKING})
        runtime.fail_images.add(BAD)
        return cls(runtime, unique_app(), journal)

    def image(self, version: int, fate: str) -> str:
        return BLOCKING if fate == SLOW else super().image(version, fate)

    @property
    def stops_when_cancelled(self) -> bool:
        """BlockingRuntime's rollout of a blocking image returns ``cancelled``."""
        return True


class GatedAdapter(FakeAdapter):
    name = "gated"
    failures: ClassVar[Mapping[str, CauseKind]] = {}
    crash_on = StepKind.RECORDED
    runtime: GatedRuntime

    @classmethod
    def open(cls, request: pytest.FixtureRequest, journal: Journal) -> GatedAdapter:
        return cls(GatedRuntime(), unique_app(), journal)

    def release(self, version: int, fate: str = RUNS) -> ReleaseSpec:
        """A release let through at once, unless it is to be slow."""
        spec = super().release(version, fate)
        if fate != SLOW:
            self.runtime.gate(spec.release_id).set()
        return spec


class TestFailingRuntime(FailureContract, CommandContract):
    adapter_type = FailingAdapter


class TestBlockingRuntime(FailureContract, CommandContract):
    adapter_type = BlockingAdapter


class TestGatedRuntime(CommandContract):
    """Not held to :class:`FailureContract`: GatedRuntime lets every release through once
    its gate opens, it has no way to fail (a test that needs a failure uses
    FailingRuntime)."""

    adapter_type = GatedAdapter
