"""The console refuses exactly what the policy refuses: every role, every action the console
offers, on the key's own app and on another, in a real browser session.

Each action is asked by the console request that does it (a page, or a form posted with
the session's CSRF token, as a forger holding a session could). A refused request is a
403; an allowed one may still fail for its own reasons, but never with a 403. The console
offers no page for some actions (changing an app's settings, one-off commands, audit
proofs, the rack's versions, who a key is): the last test names them, so a new page must
join the matrix.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import APIResponse, Page

from ledger.domain.key import Role
from ledger.policy import Action
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.console import image_build, promote
from tests.support.policy_matrix import OTHER, OWN, allowed

_unique = itertools.count()


@dataclass(frozen=True)
class Arranged:
    """Per app: a release, and the promotion that made it active."""

    releases: dict[str, str]
    promotions: dict[str, str]


def csrf(page: Page) -> str:
    return page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()


def post(page: Page, path: str, **fields: str) -> APIResponse:
    return page.request.post(path, form={"csrftoken": csrf(page), **fields}, max_redirects=0)


Request = Callable[[Page, Arranged, str], APIResponse]
REQUESTS: dict[Action, Request] = {
    Action.READ: lambda page, world, app: page.request.get(f"/apps/{app}/releases"),
    Action.READ_LOG: lambda page, world, app: page.request.get(f"/apps/{app}/history"),
    Action.REVEAL_ENV: lambda page, world, app: page.request.get(f"/apps/{app}/env?reveal=1"),
    Action.CREATE_APP: lambda page, world, app: post(page, "/apps", name=f"made-{next(_unique)}"),
    Action.BUILD: lambda page, world, app: post(
        page, f"/apps/{app}/builds", image=f"{app}:{next(_unique)}"
    ),
    Action.PROMOTE: lambda page, world, app: post(
        page, f"/apps/{app}/releases/{world.releases[app]}/promote", queue="1"
    ),
    Action.ROLLBACK: lambda page, world, app: post(
        page, f"/apps/{app}/releases/{world.releases[app]}/rollback", queue="1"
    ),
    Action.CANCEL_PROMOTION: lambda page, world, app: post(
        page, f"/apps/{app}/promotions/{world.promotions[app]}/cancel"
    ),
    Action.CHANGE_ENV: lambda page, world, app: post(
        page,
        f"/apps/{app}/env/apply",
        form="key",
        key="COLOUR",
        value=f"c{next(_unique)}",
        op="set",
        expected_version="0",
    ),
    Action.MANAGE_WORKFLOWS: lambda page, world, app: post(
        page,
        "/workflows",
        name=f"made-{next(_unique)}",
        repository="file:///nonexistent/repo.git",
        apps=app,
    ),
    Action.MANAGE_KEYS: lambda page, world, app: page.request.get("/keys"),
    Action.LIST_APPS: lambda page, world, app: page.request.get("/"),
}
NOT_OFFERED = {
    Action.CONFIGURE_APP,
    Action.RUN_COMMAND,
    Action.AUDIT,
    Action.READ_RACK,
    Action.WHO_AM_I,
    Action.ADMINISTER,
    Action.MANAGE_NOTIFICATIONS,  # ledgerctl notifications only
}


@pytest.fixture
def arranged(api: LedgerStub) -> Arranged:
    releases, promotions = {}, {}
    for app in (OWN, OTHER):
        api.CreateApp(pb.CreateAppRequest(name=app))
        releases[app] = image_build(api, app, f"{app}:1").release_id
        promotions[app] = promote(api, app, releases[app]).id
    return Arranged(releases, promotions)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DEPLOYER, Role.AUDITOR, Role.READER])
def test_a_console_request_is_refused_exactly_when_the_policy_refuses_its_action(
    role: Role,
    arranged: Arranged,
    admin_page: Page,
    page_as: Callable[..., Page],
) -> None:
    page = (
        admin_page if role is Role.ADMIN else page_as(role.value, *([OWN] * (not role.every_app)))
    )
    page.goto("/")
    wrong = []
    for action, request in REQUESTS.items():
        for app in (OWN, OTHER):
            status = request(page, arranged, app).status
            if (status == 403) == allowed(action, role, app):
                wrong.append(f"{action} on {app}: {status}")

    assert wrong == []


def test_the_actions_the_console_offers_no_page_for_are_known() -> None:
    assert set(Action) - set(REQUESTS) == NOT_OFFERED
