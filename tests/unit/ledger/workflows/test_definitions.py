"""Workflow definitions: what is refused, what is stored, who they connect to."""

from __future__ import annotations

import pytest

from ledger.domain import Hook, WorkflowSettings
from ledger.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from ledger.workflows.commands import CreateWorkflow, ResumeWorkflow, UpdateWorkflow
from ledger.workflows.settings import SettingsChange, check_settings, parse_hook
from tests.unit.ledger.workflows.conftest import ADMIN, World


def settings(**changes: object) -> WorkflowSettings:
    base = {"repository": "https://git.example.com/shop.git", "apps": ("shop",)}
    return WorkflowSettings(**{**base, **changes})  # type: ignore[arg-type]


def test_a_promote_command_is_a_service_and_a_command() -> None:
    assert parse_hook("web: rake db:migrate") == Hook("web", "rake db:migrate")
    with pytest.raises(InvalidArgument, match="SERVICE: COMMAND"):
        parse_hook("rake db-migrate")


@pytest.mark.parametrize(
    "url", ["", "-uhttps://x", "ext::sh -c id", "https://alice:token@git.example.com/x.git"]
)
def test_a_repository_that_is_not_a_plain_git_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument):
        check_settings(settings(repository=url))


def test_review_apps_need_app_names_short_enough_for_their_suffix() -> None:
    with pytest.raises(InvalidArgument, match="too long for them"):
        check_settings(settings(apps=("a-very-long-application-name",), review_apps=True))


def test_polling_is_bounded() -> None:
    with pytest.raises(InvalidArgument, match="poll every"):
        check_settings(settings(poll_seconds=1))


def test_a_workflow_needs_apps_that_exist(world: World) -> None:
    with pytest.raises(NotFound, match="app nope not found"):
        world.workflows.create(CreateWorkflow("site", settings(apps=("nope",))), ADMIN)


def test_a_workflow_name_is_taken_once(world: World) -> None:
    world.create()
    with pytest.raises(AlreadyExists):
        world.create()


def test_creating_a_workflow_connects_its_apps(world: World) -> None:
    world.create()
    assert world.ledger.app("shop").workflows == ["site"]


def test_the_secret_is_given_once_and_a_retry_gets_none(world: World) -> None:
    command = CreateWorkflow("site", settings())
    retried = ADMIN.__class__(actor=ADMIN.actor, request_id="create-site-1")
    first = world.workflows.create(command, retried)
    again = world.workflows.create(command, retried)
    assert len(first.secret) > 30 and again.secret == ""
    assert world.workflows.secret_of("site") == first.secret


def test_rotating_the_secret_replaces_it(world: World) -> None:
    old = world.create()
    new = world.workflows.rotate_secret("site", ADMIN).secret
    assert new != old and world.workflows.secret_of("site") == new


def test_an_update_changes_only_what_it_names(world: World) -> None:
    world.create(branch="main")
    change = SettingsChange(branch="release", wait_for_ci=True)
    world.workflows.update(UpdateWorkflow("site", change), ADMIN)
    updated = world.ledger.workflow("site").settings
    assert (updated.branch, updated.wait_for_ci, updated.apps) == ("release", True, ("shop",))


def test_a_deleted_workflow_disconnects_its_apps_and_refuses_deliveries(world: World) -> None:
    world.create()
    world.workflows.delete("site", ADMIN)
    assert world.ledger.app("shop").workflows == []
    with pytest.raises(FailedPrecondition, match="deleted"):
        world.workflows.secret_of("site")


def test_resuming_what_is_not_paused_is_refused(world: World) -> None:
    world.create()
    with pytest.raises(FailedPrecondition, match="is not paused"):
        world.workflows.resume(ResumeWorkflow("site"), ADMIN)
