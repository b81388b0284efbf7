"""The runtime contract: the scenarios every adapter of the runtime port must pass.

Modelled on the ``eventsourcing`` library's recorder test cases: one base class of
scenarios, subclassed once per runtime (``record``, ``docker``, the test fakes) with
only ``adapter_type`` set, so every runtime is held to the same assertions. The
promises are those of ``ledger.runtime``: a rollout makes its target what runs and
reports its steps; a failure is a structured cause that reveals no env value; restore
brings the previous release back (or nothing); cancellation is prompt; and rollout and
restore may be run again after a crash. Every step reported in a scenario is checked
at its end (a ``StepKind``, a message, no env value). A runtime that runs containers also
runs one-off commands: exit code and output as the command gives them, the release's
env, prompt cancel, and the serving release left alone (``CommandContract``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from ledger.domain import CauseKind
from ledger.errors import NotFound
from tests.contract.harness import (
    LONG,
    SLOW,
    Background,
    CommandRun,
    Journal,
    RuntimeAdapter,
    cause_problems,
    command,
    run,
    step_problems,
    versions,
    wait_until,
)
from tests.support.runtimes import KILLED, Collected, SimulatedCrash, plan


class RuntimeContract:
    """Subclass as ``Test<Runtime>`` with ``adapter_type`` set to the runtime's adapter."""

    adapter_type: ClassVar[type[RuntimeAdapter]]

    @pytest.fixture
    def adapter(self, request: pytest.FixtureRequest) -> Iterator[RuntimeAdapter]:
        journal = Journal()
        adapter = self.adapter_type.open(request, journal)
        try:
            yield adapter
        finally:
            adapter.close()
        assert journal.problems() == [], "steps of the scenario broke the port's promises"

    # --- roll out ---

    def test_a_first_release_rolled_out_is_then_what_runs(self, adapter: RuntimeAdapter) -> None:
        target = adapter.release(1)

        assert adapter.runtime.roll_out(plan(target), adapter.journal.progress()) is None

        assert versions(adapter.what_runs()) == {1}

    def test_a_release_rolled_out_over_a_previous_one_takes_its_place_entirely(
        self, adapter: RuntimeAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        before = adapter.what_runs()
        second = adapter.release(2)

        assert adapter.runtime.roll_out(plan(second, first), adapter.journal.progress()) is None

        assert adapter.what_runs() == [(unit, 2) for unit, _ in before]

    # --- report steps ---

    def test_a_rollout_reports_at_least_one_step_each_with_a_step_kind_and_a_message(
        self, adapter: RuntimeAdapter
    ) -> None:
        progress = adapter.journal.progress()

        assert adapter.runtime.roll_out(plan(adapter.release(1)), progress) is None

        assert progress.steps, "the rollout reported no step"
        assert step_problems(progress.steps) == []

    # --- restore ---

    def test_restore_with_no_previous_release_leaves_nothing_running(
        self, adapter: RuntimeAdapter
    ) -> None:
        promotion = plan(adapter.release(1))
        assert adapter.runtime.roll_out(promotion, adapter.journal.progress()) is None

        assert adapter.runtime.restore(promotion, adapter.journal.progress()) is None

        assert adapter.what_runs() == []

    # --- cancel ---

    def test_cancelling_a_rollout_under_way_ends_it_promptly_and_restore_brings_back_the_previous(
        self, adapter: RuntimeAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        before = adapter.what_runs()
        promotion = plan(adapter.release(2, SLOW), first)
        progress = adapter.journal.progress()
        rollout = Background(adapter.runtime, promotion, progress)
        wait_until(lambda: adapter.under_way(progress) or rollout.done.is_set())

        progress.cancel()
        cause = rollout.result(within=adapter.cancel_within)

        if adapter.stops_when_cancelled:
            assert cause is not None, "a cancelled rollout succeeded"
            assert cause.kind == CauseKind.CANCELLED
            assert cause_problems(cause) == []
        else:
            assert cause is None
            assert versions(adapter.what_runs()) == {2}
        assert adapter.runtime.restore(promotion, adapter.journal.progress()) is None
        assert adapter.what_runs() == before

    # --- safe to re-run after a crash ---

    def test_running_an_interrupted_rollout_again_leaves_what_one_uninterrupted_run_leaves(
        self, adapter: RuntimeAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        uninterrupted = adapter.what_runs()
        promotion = plan(adapter.release(2), first)
        crashing = adapter.journal.progress(crash_on=adapter.crash_on)
        with pytest.raises(SimulatedCrash):
            adapter.runtime.roll_out(promotion, crashing)

        assert adapter.restarted().roll_out(promotion, adapter.journal.progress()) is None

        assert adapter.what_runs() == [(unit, 2) for unit, _ in uninterrupted]

    def test_restoring_twice_in_a_row_leaves_the_previous_release_running(
        self, adapter: RuntimeAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        before = adapter.what_runs()
        promotion = plan(adapter.release(2), first)
        assert adapter.runtime.roll_out(promotion, adapter.journal.progress()) is None

        assert adapter.runtime.restore(promotion, adapter.journal.progress()) is None
        assert adapter.runtime.restore(promotion, adapter.journal.progress()) is None

        assert adapter.what_runs() == before


class FailureContract(RuntimeContract):
    """The scenarios of a runtime that can be given a release that cannot run: subclass
    this one instead of :class:`RuntimeContract` when the runtime can fail."""

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Failure scenarios run once per way the adapter's releases can fail."""
        if "failure" in metafunc.fixturenames:
            metafunc.parametrize("failure", list(self.adapter_type.failures))

    def test_a_release_that_cannot_run_fails_with_a_structured_cause_that_shows_no_env_value(
        self, adapter: RuntimeAdapter, failure: str
    ) -> None:
        target = adapter.release(1, failure)

        cause = adapter.runtime.roll_out(plan(target), adapter.journal.progress())

        assert cause is not None, "a release that cannot run was rolled out"
        assert cause_problems(cause) == []
        assert cause.kind == adapter.failures[failure]

    def test_restore_after_a_failed_rollout_brings_the_previous_release_back(
        self, adapter: RuntimeAdapter, failure: str
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        before = adapter.what_runs()
        promotion = plan(adapter.release(2, failure), first)
        assert adapter.runtime.roll_out(promotion, adapter.journal.progress()) is not None

        assert adapter.runtime.restore(promotion, adapter.journal.progress()) is None

        assert adapter.what_runs() == before


class CommandContract(RuntimeContract):
    """The scenarios of a runtime that runs containers, and so one-off commands: subclass
    this one too when it does (the record runtime refuses them, see ``test_record``).
    The commands are argvs of busybox's or the host's ``sh``, ``echo`` and ``sleep``."""

    @pytest.mark.parametrize("code", [0, 3])
    def test_a_command_s_exit_code_is_returned_as_given(
        self, adapter: RuntimeAdapter, code: int
    ) -> None:
        assert run(adapter, "sh", "-c", f"exit {code}").code == code

    def test_a_command_s_output_and_errors_reach_its_output(self, adapter: RuntimeAdapter) -> None:
        finished = run(adapter, "sh", "-c", "echo hello; echo oops >&2")

        assert finished.code == 0
        assert sorted(finished.output.text.splitlines()) == ["hello", "oops"]

    def test_a_command_sees_the_env_of_its_release(self, adapter: RuntimeAdapter) -> None:
        finished = run(adapter, "sh", "-c", 'echo "$VALUE"')

        assert (finished.code, finished.output.text) == (0, "value of v1\n")

    def test_a_command_in_a_service_the_release_lacks_is_not_found(
        self, adapter: RuntimeAdapter
    ) -> None:
        request = command(adapter.release(1), "echo", "hello", service="nosuch")

        with pytest.raises(NotFound, match="release v1 has no service nosuch"):
            adapter.runtime.run_command(request, Collected(), lambda: False)

    def test_a_cancelled_command_stops_promptly_its_output_having_come_as_it_ran(
        self, adapter: RuntimeAdapter
    ) -> None:
        running = CommandRun(adapter.runtime, command(adapter.release(1), *LONG))
        wait_until(lambda: "started" in running.output.text or running.done.is_set())
        assert not running.done.is_set(), f"the command ended: {running.output.text!r}"

        running.cancel.set()

        assert running.result(within=adapter.cancel_within) != 0

    def test_a_command_still_running_when_its_timeout_passes_is_stopped(
        self, adapter: RuntimeAdapter
    ) -> None:
        request = command(adapter.release(1), "sleep", "60", timeout=1)

        running = CommandRun(adapter.runtime, request)

        assert running.result(within=1 + adapter.cancel_within) == KILLED

    def test_a_command_leaves_the_active_release_running_as_it_was(
        self, adapter: RuntimeAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        before = adapter.what_runs()

        assert run(adapter, "echo", "hello", release=first).code == 0

        assert adapter.what_runs() == before

    def test_a_rollout_while_a_command_runs_neither_counts_nor_stops_it(
        self, adapter: RuntimeAdapter
    ) -> None:
        first = adapter.release(1)
        assert adapter.runtime.roll_out(plan(first), adapter.journal.progress()) is None
        before = adapter.what_runs()
        running = CommandRun(adapter.runtime, command(first, *LONG))
        wait_until(lambda: "started" in running.output.text or running.done.is_set())

        second = plan(adapter.release(2), first)
        assert adapter.runtime.roll_out(second, adapter.journal.progress()) is None

        assert adapter.what_runs() == [(unit, 2) for unit, _ in before]
        assert not running.done.is_set(), f"the command ended: {running.output.text!r}"
        running.cancel.set()
        running.result(within=adapter.cancel_within)

    def test_stop_app_leaves_nothing_of_the_app_running(self, adapter: RuntimeAdapter) -> None:
        assert (
            adapter.runtime.roll_out(plan(adapter.release(1)), adapter.journal.progress()) is None
        )

        adapter.runtime.stop_app(adapter.app)

        assert adapter.what_runs() == []
