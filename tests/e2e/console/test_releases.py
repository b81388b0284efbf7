"""The Releases tab, a release's page, and promoting or rolling back through the console's
confirmation, in a real browser against a real ledgerd (record runtime)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.console import image_build, promote, settle, shop

# --- reading the ledger through the API ---


def active_id(api: LedgerStub, app: str = "shop") -> str:
    """The id of the app's active release."""
    return str(api.GetApp(pb.GetAppRequest(name=app)).active_release_id)


def promotion_count(api: LedgerStub, app: str = "shop") -> int:
    """How many promotions the app has had."""
    return len(api.ListPromotions(pb.ListPromotionsRequest(app=app)).promotions)


# --- the scenarios ---


def test_promoting_an_older_release_through_its_confirmation_makes_it_live(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, _v2, v3 = shop(api)
    admin_page.goto("/apps/shop/releases")
    admin_page.goto(f"/apps/shop/releases/{v1}/promote")  # the older one, exactly

    expect(admin_page.locator("#what")).to_contain_text(
        f"Promote v1 ({v1}) of shop, replacing the live v3 ({v3})"
    )
    admin_page.get_by_role("button", name="Promote v1").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/promotions/P\w+$"))
    expect(admin_page.locator("#promotion-status")).to_have_text("succeeded")
    expect(admin_page.locator("#active-release")).to_contain_text(v1)  # the header follows
    assert active_id(api) == v1
    admin_page.get_by_role("link", name="Releases").click()
    expect(admin_page.locator(f"tr[data-release={v1}].active .badge.live")).to_have_text("● Live")
    expect(admin_page.locator(f"tr[data-release={v3}] .badge.live")).to_have_count(0)
    expect(admin_page.locator(f"tr[data-release={v3}]")).to_contain_text("was live")


def test_the_releases_tab_marks_the_live_release_as_it_changes_elsewhere(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, v2 = shop(api, releases=2)
    admin_page.goto("/apps/shop/releases")
    expect(admin_page.locator(f"tr[data-release={v2}] .badge.live")).to_be_visible()

    promote(api, "shop", v1)

    expect(admin_page.locator(f"tr[data-release={v1}] .badge.live")).to_be_visible()
    expect(admin_page.locator(f"tr[data-release={v2}] .badge.live")).to_have_count(0)


def test_the_confirmation_says_what_differs_from_the_active_release(
    admin_page: Page, api: LedgerStub
) -> None:
    (v1,) = shop(api, releases=1)
    base = pb.UpdateEnvRequest(app="shop", set={"A": "1", "B": "2"}, promote=True)
    settle(api, "shop", api.UpdateEnv(base).promotion.id)
    change = pb.UpdateEnvRequest(app="shop", set={"A": "9", "C": "3"}, unset=["B"])
    v3 = api.UpdateEnv(change).release.id
    admin_page.goto(f"/apps/shop/releases/{v3}/promote")

    expect(admin_page.locator("[data-diff=build]")).to_have_text("Same build")
    changes = admin_page.locator("#env-changes")
    expect(changes.locator("tr[data-change=added]")).to_have_attribute("data-key", "C")
    expect(changes.locator("tr[data-change=changed]")).to_have_attribute("data-key", "A")
    expect(changes.locator("tr[data-change=removed]")).to_have_attribute("data-key", "B")
    assert "9" not in changes.inner_text()  # values masked until revealed
    admin_page.goto(f"/apps/shop/releases/{v1}/rollback")
    expect(admin_page.locator("#what")).to_contain_text(
        "Roll back shop to v1: creates a new release with v1's build and environment "
        "and promotes it"
    )
    expect(admin_page.get_by_role("button", name="Roll back to v1")).to_be_visible()


def test_cancel_on_the_confirmation_changes_nothing(admin_page: Page, api: LedgerStub) -> None:
    v1, _v2, v3 = shop(api)
    before = promotion_count(api)
    admin_page.goto("/apps/shop/releases")
    admin_page.locator(f"tr[data-release={v1}]").get_by_role("link", name="Roll back to v1").click()
    expect(admin_page.get_by_role("button", name="Roll back to v1")).to_be_visible()

    admin_page.get_by_role("link", name="Cancel").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/releases$"))
    expect(admin_page.locator("#releases tr[data-release]")).to_have_count(3)
    assert active_id(api) == v3
    assert promotion_count(api) == before


def test_rollback_creates_a_release_from_the_target_and_newer_ones_stay_listed(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, v2, v3 = shop(api)
    admin_page.goto("/apps/shop/releases")
    admin_page.locator(f"tr[data-release={v1}]").get_by_role("link", name="Roll back to v1").click()
    admin_page.get_by_label("Description").fill("v3 broke checkout")
    admin_page.get_by_role("button", name="Roll back to v1").click()

    expect(admin_page.locator("#promotion-status")).to_have_text("succeeded")
    new = api.GetRelease(pb.GetReleaseRequest(app="shop", id=active_id(api)))
    assert (new.version, new.reason, new.parent_id) == (4, "rollback", v1)
    admin_page.get_by_role("link", name="Releases").click()
    live = admin_page.locator("#releases tr.active")
    expect(live).to_have_attribute("data-release", new.id)
    expect(live).to_contain_text("Rollback to v1")
    expect(live).to_contain_text("v3 broke checkout")
    for release_id in (v2, v3):
        expect(admin_page.locator(f"tr[data-release={release_id}]")).to_be_visible()
        promote_link = admin_page.locator(f"tr[data-release={release_id}] a", has_text="Promote v")
        expect(promote_link).to_be_visible()  # rolling forward to v2 or v3 stays possible


@pytest.mark.parametrize("role", ["auditor", "reader"])
def test_read_only_keys_see_no_promote_or_rollback_buttons(
    page_as: Callable[..., Page], api: LedgerStub, role: str
) -> None:
    shop(api, active=2)
    page = page_as(role, *(["shop"] if role == "reader" else []))
    page.goto("/apps/shop/releases")
    expect(page.locator("#releases tr[data-release]")).to_have_count(3)
    expect(page.get_by_role("link", name="Promote")).to_have_count(0)
    expect(page.get_by_role("link", name="Roll back")).to_have_count(0)


def test_a_deployer_sees_roll_back_on_older_releases_and_promote_on_newer_ones(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    v1, v2, v3 = shop(api, active=2)
    page = page_as("deployer", "shop")
    page.goto("/apps/shop/releases")
    for release_id, actions in ((v1, ["Roll back to v1"]), (v2, []), (v3, ["Promote v3"])):
        links = page.locator(f"tr[data-release={release_id}] td.actions a")
        expect(links).to_have_text(actions)


def test_a_forged_promote_from_an_auditor_with_a_valid_csrf_token_is_refused(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    v1, _v2, v3 = shop(api)
    before = promotion_count(api)
    page = page_as("auditor")
    page.goto("/apps/shop/releases")
    token = page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()

    response = page.request.post(f"/apps/shop/releases/{v1}/promote", form={"csrftoken": token})

    assert response.status == 403
    assert "may not deploy" in response.text()
    assert promotion_count(api) == before
    assert active_id(api) == v3


def test_promoting_an_unknown_or_another_apps_release_is_not_found_and_appends_nothing(
    admin_page: Page, api: LedgerStub
) -> None:
    shop(api, releases=1)
    api.CreateApp(pb.CreateAppRequest(name="blog"))
    other = image_build(api, "blog", "blog:1").release_id
    before = api.ListEvents(pb.ListEventsRequest(newest_first=True, page_size=1)).events[0]
    admin_page.goto("/apps/shop/releases")
    token = admin_page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()

    for release_id in (other, "RAAAAAAAAAA"):
        url = f"/apps/shop/releases/{release_id}/promote"
        response = admin_page.request.post(url, form={"csrftoken": token})
        assert response.status == 404
        assert f"release {release_id} not found in app shop" in response.text()

    after = api.ListEvents(pb.ListEventsRequest(newest_first=True, page_size=1)).events[0]
    assert after.position == before.position


def test_a_release_page_masks_env_values_until_a_deployer_reveals_them(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    shop(api, releases=1)
    change = pb.UpdateEnvRequest(app="shop", set={"DB_PASSWORD": "hunter2-secret"})
    release_id = api.UpdateEnv(change).release.id
    page = page_as("deployer", "shop")
    page.goto(f"/apps/shop/releases/{release_id}")
    expect(page.locator("#release-env tr[data-key=DB_PASSWORD] .masked")).to_be_visible()
    expect(page.locator("[data-diff=added]")).to_contain_text("DB_PASSWORD")
    assert "hunter2-secret" not in page.content()

    page.get_by_role("link", name="Reveal values").click()

    expect(page.locator("#release-env tr[data-key=DB_PASSWORD] .value")).to_have_text(
        "hunter2-secret"
    )


def test_a_reader_may_not_reveal_env_values_of_a_release(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    shop(api, releases=1)
    change = pb.UpdateEnvRequest(app="shop", set={"DB_PASSWORD": "hunter2-secret"})
    release_id = api.UpdateEnv(change).release.id
    page = page_as("reader", "shop")
    page.goto(f"/apps/shop/releases/{release_id}")
    expect(page.locator("#release-env tr[data-key=DB_PASSWORD]")).to_be_visible()
    expect(page.get_by_role("link", name="Reveal values")).to_have_count(0)

    response = page.goto(f"/apps/shop/releases/{release_id}?reveal=1")

    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("may not see the env values")
    assert "hunter2-secret" not in page.content()


def test_the_releases_tab_pages_back_to_older_releases(admin_page: Page, api: LedgerStub) -> None:
    shop(api, releases=52)
    admin_page.goto("/apps/shop/releases")
    expect(admin_page.locator("#releases tr[data-release]")).to_have_count(50)
    expect(admin_page.locator("#releases tr[data-release]").first).to_have_attribute(
        "data-version", "52"
    )

    admin_page.get_by_role("link", name="Older").click()

    expect(admin_page).to_have_url(re.compile(r"\?before=3$"))
    expect(admin_page.locator("#releases tr[data-release]")).to_have_count(2)
    expect(admin_page.get_by_role("link", name="Older")).to_have_count(0)


@pytest.mark.parametrize(
    "path", ["/apps/shop/releases", "/apps/shop/builds", "/apps/shop/promotions", "/keys"]
)
def test_a_negative_page_cursor_is_refused_with_a_clear_error(
    admin_page: Page, api: LedgerStub, path: str
) -> None:
    shop(api, releases=1)

    response = admin_page.goto(f"{path}?before=-1")

    assert response is not None and response.status == 400
    expect(admin_page.get_by_role("alert")).to_have_text("before must not be negative")
