"""The seed's whole story in the console, as a newcomer does it after `make run`.

The real ``ledgerd`` entry point runs in a subprocess (as ``make run`` starts it); the
browser signs in with the admin token that ``ledgerd`` printed at its first start, then
does everything on the pages: create the app, build, deploy, change the env with Apply
Changes, roll back, roll forward, read the history and travel back in time. The gRPC API
is used only afterwards, to check that the ledger holds what the pages said.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.browser import new_page, sign_in
from tests.support.ledgerd import LedgerdProcess

PRINTED_TOKEN = re.compile(r"Its token, shown only this once.* is: (dl_\S+)")


@pytest.fixture
def made_run(
    ledgerd_process: Callable[..., LedgerdProcess], browser: Browser
) -> Iterator[tuple[LedgerdProcess, Page]]:
    """``ledgerd`` as `make run` starts it, and a browser page on its console."""
    process = ledgerd_process()
    context, page = new_page(browser, process.console_url)
    yield process, page
    context.close()


def printed_token(process: LedgerdProcess) -> str:
    for line in process.output:
        match = PRINTED_TOKEN.search(line)
        if match:
            return match.group(1)
    raise AssertionError("ledgerd printed no admin token:\n" + "".join(process.output))


def row(page: Page, version: int) -> object:
    return page.locator(f"#releases tr[data-version='{version}']")


def finish_promotion(page: Page) -> None:
    """On a promotion's page: wait until it has succeeded (the page updates itself)."""
    expect(page).to_have_url(re.compile(r"/promotions/P\w+$"))
    expect(page.locator("#promotion-status")).to_have_text("succeeded")


def open_tab(page: Page, name: str) -> None:
    page.locator("nav.tabs").get_by_role("link", name=name).click()


def confirm(page: Page, version: int, action: str) -> None:
    """Press ``action`` ("Promote v3", "Roll back to v2") on release ``version``, then the
    confirmation's button, which says the same."""
    open_tab(page, "Releases")
    page.locator(f"#releases tr[data-version='{version}']").get_by_role("link", name=action).click()
    expect(page.locator("#confirm")).to_be_visible()
    page.get_by_role("button", name=action).click()
    finish_promotion(page)


def live_version(page: Page) -> str | None:
    open_tab(page, "Releases")
    return page.locator("#releases tr.active").get_attribute("data-version")


def test_a_newcomer_does_the_seed_story_in_the_console_without_the_cli(
    made_run: tuple[LedgerdProcess, Page], tmp_path: Path
) -> None:
    process, page = made_run
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    sign_in(page, printed_token(process))

    # Create the app.
    page.get_by_label("Name").fill("shop")
    page.get_by_role("button", name="Create app").click()
    expect(page.locator("#app-page")).to_have_attribute("data-app", "shop")

    # A build without promotion: v1, not live.
    open_tab(page, "Builds")
    page.get_by_label("Image").fill("shop:1")
    page.get_by_label("Description").fill("first")
    page.get_by_role("button", name="Build").click()
    expect(page.get_by_text("succeeded").first).to_be_visible()
    open_tab(page, "Releases")
    expect(page.locator("#releases tr[data-version='1']")).to_be_visible()
    expect(page.locator("#releases tr.active")).to_have_count(0)

    # Deploy: build with "promote" ticked; v2 goes live.
    open_tab(page, "Builds")
    page.get_by_label("Image").fill("shop:2")
    page.get_by_label("Promote when built (deploy)").check()
    page.get_by_role("button", name="Build").click()
    finish_promotion(page)
    assert live_version(page) == "2"

    # Add a key in the env editor, preview, Apply Changes: a release (v3) from the active
    # build, promoted.
    open_tab(page, "Environment")
    page.locator("#env-add").get_by_label("Key").fill("DATABASE_URL")
    page.locator("#env-add").get_by_label("Value").fill("postgres://db/shop")
    page.locator("#env-add").get_by_role("button", name="Preview").click()
    expect(page.locator("#env-diff-preview tr[data-change=added]")).to_have_count(1)
    page.get_by_role("button", name="Apply Changes").click()
    finish_promotion(page)
    assert live_version(page) == "3"

    # Roll back to v2: a new release v4 (v2's build and env) goes live; v3 stays listed.
    confirm(page, 2, "Roll back to v2")
    assert live_version(page) == "4"
    expect(page.locator("#releases tr[data-version='4']")).to_contain_text("Rollback to v2")
    expect(page.locator("#releases tr[data-version='3']")).to_be_visible()

    # Roll forward: promote v3 again.
    confirm(page, 3, "Promote v3")
    assert live_version(page) == "3"

    # The history tells it all, and time travel shows v2 live after the deploy.
    open_tab(page, "History")
    history = page.locator("#actions")
    expect(history.locator("tr[data-type='PromotionSucceeded']")).to_have_count(4)
    first_deploy = history.locator("li[data-kind=deploy]").last
    first_deploy.locator(":scope > details > summary").click()
    deployed = first_deploy.locator("tr[data-type='ReleaseActivated']")
    deployed.get_by_role("link", name="what was live here").click()
    expect(page.locator("#live-release")).to_be_visible()
    expect(page.locator("h2", has_text="Live then")).to_contain_text("v2")

    # The ledger holds what the pages showed, recorded as the admin key.
    with process.channel() as channel:
        api = LedgerStub(channel)
        app = api.GetApp(pb.GetAppRequest(name="shop"))
        releases = api.ListReleases(pb.ListReleasesRequest(app="shop")).releases
        by_version = {release.version: release for release in releases}
        live = api.GetRelease(pb.GetReleaseRequest(id=by_version[3].id, reveal=True))
    assert app.active_release_id == by_version[3].id
    assert [by_version[v].reason for v in (1, 2, 3, 4)] == ["build", "build", "env", "rollback"]
    assert by_version[4].parent_id == by_version[2].id
    assert dict(live.env) == {"DATABASE_URL": "postgres://db/shop"}
    assert {release.actor.split(" ")[0] for release in releases} == {"admin"}
