"""The ``record`` runtime held to the runtime contract.

It runs nothing: what it "runs" is what it records, i.e. what its last step says
("release v2 recorded as running", "v1 recorded as running again", "nothing ...").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

import pytest

from ledger.domain import CauseKind, StepKind
from ledger.errors import FailedPrecondition
from ledger.runtime import ReleaseSpec
from runtime.record import RecordRuntime
from tests.contract.contract import RuntimeContract
from tests.contract.harness import RUNS, Journal, RuntimeAdapter, Unit, command, plain_release
from tests.support.docker import unique_app
from tests.support.runtimes import Collected

VERSION = re.compile(r"\bv(\d+)\b")


class RecordAdapter(RuntimeAdapter):
    name = "record"
    failures: ClassVar[Mapping[str, CauseKind]] = {}
    crash_on = StepKind.RECORDED

    @classmethod
    def open(cls, request: pytest.FixtureRequest, journal: Journal) -> RecordAdapter:
        return cls(RecordRuntime(), unique_app(), journal)

    def release(self, version: int, fate: str = RUNS) -> ReleaseSpec:
        return plain_release(self.app, version, f"{self.app}:{version}")

    def what_runs(self) -> list[Unit]:
        recorded = [
            message
            for kind, message in self.journal.steps
            if kind in (StepKind.RECORDED, StepKind.RESTORED)
        ]
        found = VERSION.search(recorded[-1]) if recorded else None
        return [("recorded", int(found.group(1)))] if found else []

    @property
    def stops_when_cancelled(self) -> bool:
        """The record runtime never asks whether it is cancelled: it records a rollout at
        once, before any cancel can arrive, so ``roll_out`` returns None (and restore then
        records the previous release as running again)."""
        return False


class TestRecordRuntime(RuntimeContract):
    """Not held to :class:`FailureContract`: the record runtime runs nothing, so nothing of
    it can fail; every rollout is recorded as succeeded (failures of the deployment done
    elsewhere are not its)."""

    adapter_type = RecordAdapter

    def test_a_one_off_command_is_refused_since_the_record_runtime_runs_no_containers(
        self, adapter: RuntimeAdapter
    ) -> None:
        """Not held to ``CommandContract``: there is nothing to run a command in."""
        output = Collected()
        request = command(adapter.release(1), "echo", "hello")

        with pytest.raises(FailedPrecondition, match="runs no containers"):
            adapter.runtime.run_command(request, output, lambda: False)

        assert output.data == b""

    def test_stopping_an_app_is_accepted_and_does_nothing(self, adapter: RuntimeAdapter) -> None:
        adapter.runtime.stop_app(adapter.app)

        assert adapter.journal.steps == []
