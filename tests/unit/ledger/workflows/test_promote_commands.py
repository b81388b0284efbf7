"""Before- and after-promote commands, and one-off commands."""

from __future__ import annotations

from typing import Any

from ledger.commands import UpdateEnv
from ledger.domain import App, Hook, JobStatus
from ledger.oneoff import RunCommand
from tests.support.runtimes import Collected
from tests.unit.ledger.workflows.conftest import ADMIN, World


def test_a_failing_before_promote_command_stops_the_promotion(world: World) -> None:
    world.create(before_promote=(Hook("web", "echo migrating; exit 4"),))
    job = world.ended(world.push("1").job_id)
    assert job.status == JobStatus.FAILED
    assert "exited with 4; its promotion was not started" in job.cause
    step = job.step_named("before-promote", "shop")
    assert step is not None and "migrating" in step["detail"]
    assert world.ledger.app("shop").active_release_id == ""


def test_a_failing_after_promote_command_fails_the_job_but_the_release_stays(world: World) -> None:
    world.create(after_promote=(Hook("web", "exit 5"),))
    job = world.ended(world.push("1").job_id)
    assert job.status == JobStatus.FAILED
    assert "stays promoted" in job.cause
    assert world.runtime.running["shop"].image == "shop:1"


def test_promote_commands_run_in_the_release_with_its_env(world: World) -> None:
    world.create(before_promote=(Hook("web", 'test "$GREETING" = hello'),))
    world.service.update_env(UpdateEnv("shop", set_values={"GREETING": "hello"}), ADMIN)
    assert world.ended(world.push("1").job_id).status == JobStatus.SUCCEEDED


def test_a_one_off_command_returns_its_exit_code_and_is_recorded(world: World) -> None:
    world.create()
    world.ended(world.push("1").job_id)
    output = Collected()
    command = RunCommand("shop", "web", ("/bin/sh", "-c", "echo hi; exit 3"))
    result = world.commands.run(command, ADMIN, output)
    assert result.exit_code == 3
    assert b"hi" in output.data
    started, ended = recorded(world, "CommandStarted")[-1], recorded(world, "CommandEnded")[-1]
    assert started.command == "/bin/sh -c 'echo hi; exit 3'" and started.actor == ADMIN.actor
    assert ended.run_id == result.run_id and ended.exit_code == 3


def test_a_one_off_command_is_recorded_with_env_values_hidden(world: World) -> None:
    world.service.update_env(UpdateEnv("shop", set_values={"TOKEN": "s3cr3t-value"}), ADMIN)
    world.create()
    world.ended(world.push("1").job_id)
    command = RunCommand("shop", "web", ("echo", "s3cr3t-value"))
    world.commands.run(command, ADMIN, Collected())
    assert recorded(world, "CommandStarted")[-1].command == "echo ***"


def recorded(world: World, kind: str) -> list[Any]:
    events = world.ledger.repository.event_store.get(App.create_id("shop"))
    return [event for event in events if type(event).__name__ == kind]
