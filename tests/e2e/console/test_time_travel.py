"""Release diffs and time travel, in a real browser.

Moments are read from the events' own times (``ListEvents``), never from the wall clock:
a moment "between two promotions" is computed from the two activations' times.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, timedelta
from urllib.parse import quote

from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.cli.runner import Ledgerctl
from tests.support.console import events_of, image_build, promote, set_env
from tests.support.ledgerd import InProcessLedgerd


def two_deployments(api: LedgerStub) -> tuple[str, str]:
    """App shop with release v1 promoted, then v2 (another build) promoted."""
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    first = image_build(api, "shop", "shop:1").release_id
    promote(api, "shop", first)
    second = image_build(api, "shop", "shop:2").release_id
    promote(api, "shop", second)
    return first, second


# -- release diffs --------------------------------------------------------------------------


def test_the_diff_between_two_releases_shows_env_keys_changed_and_the_build_changed(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", PORT="port-value-one", OLD="old-value", KEEP="kept-value")
    first = image_build(api, "shop", "shop:1").release_id
    api.UpdateEnv(
        pb.UpdateEnvRequest(
            app="shop",
            set={"PORT": "port-value-two", "NEW": "new-value"},
            unset=["OLD"],
            base_release_id=first,
        )
    )
    last = image_build(api, "shop", "shop:2").release_id
    admin_page.goto("/apps/shop/diff")

    admin_page.get_by_label("From").select_option(first)
    admin_page.get_by_label("To").select_option(last)
    admin_page.get_by_role("button", name="Compare").click()

    expect(admin_page).to_have_url(re.compile(rf"/apps/shop/diff\?from={first}&to={last}$"))
    expect(admin_page.locator("#build-change")).to_contain_text("Build changed")
    expect(admin_page.locator("#env-diff [data-change=changed]")).to_have_text(["~ PORT changed"])
    expect(admin_page.locator("#env-diff [data-change=added]")).to_have_text(["+ NEW added"])
    expect(admin_page.locator("#env-diff [data-change=removed]")).to_have_text(["- OLD removed"])
    expect(admin_page.locator("#release-facts [data-fact=image] td")).to_have_text(
        ["shop:1", "shop:2"]
    )
    html = admin_page.content()
    assert not [value for value in ("port-value", "old-value", "new-value") if value in html]


def test_a_release_is_compared_with_its_parent_from_the_history_row(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    first = image_build(api, "shop", "shop:1").release_id
    promote(api, "shop", first)
    derived = set_env(api, "shop", FEATURE="on").release.id
    admin_page.goto("/apps/shop/history?types=ReleaseCreated")

    newest = admin_page.locator("#actions > li").first
    newest.locator(":scope > details > summary").click()
    newest.locator(".action-facts").get_by_role("link", name="diff").click()

    expect(admin_page).to_have_url(re.compile(rf"/apps/shop/diff\?to={derived}$"))
    expect(admin_page.locator("#build-change")).to_contain_text("Same build")
    expect(admin_page.locator("#env-diff li")).to_have_text(["+ FEATURE added"])
    expect(admin_page.get_by_label("From")).to_have_value(first)


def test_a_diff_with_a_release_of_another_app_is_refused_as_not_found(
    admin_page: Page, api: LedgerStub
) -> None:
    for name in ("shop", "blog"):
        api.CreateApp(pb.CreateAppRequest(name=name))
    mine = image_build(api, "shop", "shop:1").release_id
    theirs = image_build(api, "blog", "blog:1").release_id

    response = admin_page.goto(f"/apps/shop/diff?from={mine}&to={theirs}")

    assert response is not None and response.status == 404
    expect(admin_page.get_by_role("alert")).to_have_text(f"release {theirs} not found in app shop")


# -- time travel ----------------------------------------------------------------------------


def test_time_travel_to_a_moment_between_two_promotions_shows_the_earlier_release_live(
    admin_page: Page, api: LedgerStub
) -> None:
    first, _ = two_deployments(api)
    activations = events_of(api, "shop", "ReleaseActivated")
    earlier, later = (event.time.ToDatetime(tzinfo=UTC) for event in activations)
    assert earlier < later
    between = earlier + (later - earlier) // 2

    admin_page.goto(f"/apps/shop/at?time={quote(between.isoformat())}")

    expect(admin_page.locator("#live-release")).to_have_text(first)
    expect(admin_page.locator(f"#releases-then tr[data-release={first}] .badge")).to_have_text(
        "live then"
    )
    later_row = admin_page.locator(f"#events tr[data-position='{activations[1].position}']")
    expect(later_row).to_have_count(0)


def test_time_travel_by_position_shows_what_was_live_at_that_point_of_the_log(
    admin_page: Page, api: LedgerStub
) -> None:
    first, _ = two_deployments(api)
    position = events_of(api, "shop", "ReleaseActivated")[0].position
    admin_page.goto("/apps/shop/at")

    admin_page.get_by_label("Log position").fill(str(position))
    admin_page.locator("#travel-position").get_by_role("button", name="Go").click()

    expect(admin_page).to_have_url(re.compile(rf"/apps/shop/at\?position={position}$"))
    expect(admin_page.locator("#live-release")).to_have_text(first)
    expect(admin_page.locator("#as-of")).to_have_text(f"At log position {position}.")


def test_stepping_to_the_next_activation_shows_the_release_promoted_next(
    admin_page: Page, api: LedgerStub
) -> None:
    first, second = two_deployments(api)
    activations = events_of(api, "shop", "ReleaseActivated")
    admin_page.goto(f"/apps/shop/at?position={activations[0].position}")
    expect(admin_page.locator("#live-release")).to_have_text(first)

    admin_page.get_by_role("link", name="Next activation").click()

    expect(admin_page.locator("#live-release")).to_have_text(second)
    expect(admin_page).to_have_url(re.compile(rf"position={activations[1].position}$"))
    admin_page.get_by_role("link", name="Previous activation").click()
    expect(admin_page.locator("#live-release")).to_have_text(first)


def test_a_moment_before_the_app_existed_says_so(admin_page: Page, api: LedgerStub) -> None:
    created = api.CreateApp(pb.CreateAppRequest(name="shop")).created_at.ToDatetime(tzinfo=UTC)
    promote(api, "shop", image_build(api, "shop", "shop:1").release_id)
    admin_page.goto("/apps/shop/at")
    expect(admin_page.locator("#live-release")).to_be_visible()

    the_day_before = created - timedelta(days=1)
    admin_page.get_by_label("At").fill(the_day_before.strftime("%Y-%m-%dT%H:%M:%S"))
    admin_page.locator("#travel-time").get_by_role("button", name="Go").click()

    expect(admin_page.locator("#before-app")).to_contain_text("shop did not exist yet")
    expect(admin_page.locator("#live-release")).to_have_count(0)


def test_the_apps_list_in_time_travel_links_to_the_apps_page_at_that_moment(
    admin_page: Page, api: LedgerStub
) -> None:
    first, _ = two_deployments(api)
    earlier, later = (
        event.time.ToDatetime(tzinfo=UTC) for event in events_of(api, "shop", "ReleaseActivated")
    )
    between = earlier + (later - earlier) // 2
    admin_page.goto(f"/?at={quote(between.isoformat())}")

    admin_page.locator("tr[data-app=shop]").get_by_role("link", name="shop").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/at\?time="))
    expect(admin_page.locator("#live-release")).to_have_text(first)


def test_a_reader_travels_in_time_in_its_own_app(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    _, second = two_deployments(api)
    page = page_as("reader", "shop")

    page.goto("/apps/shop/at")

    expect(page.locator("#live-release")).to_have_text(second)
    expect(page.locator("#previous-activation")).to_be_visible()


def test_ledgerctl_and_the_console_show_the_same_moment_from_the_same_query(
    admin_page: Page, api: LedgerStub, console_ledgerd: InProcessLedgerd
) -> None:
    first, second = two_deployments(api)
    position = events_of(api, "shop", "ReleaseActivated")[-1].position
    later = image_build(api, "shop", "shop:3").release_id  # made after that moment
    set_env(api, "shop", COLOUR="blue")

    cli = Ledgerctl(console_ledgerd.address, console_ledgerd.token)
    at = cli.ok("--json", "apps", "info", "shop", "--at", str(position)).json["at"]
    admin_page.goto(f"/apps/shop/at?position={position}")

    assert at["release"]["id"] == second
    expect(admin_page.locator("#live-release")).to_have_text(at["release"]["id"])
    expect(admin_page.locator("#env-version-then")).to_have_text(str(at["env_version"]))
    shown = admin_page.locator("#releases-then tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.release)"
    )
    assert shown == [release["id"] for release in at["releases"]]
    previous = admin_page.locator("#previous-activation")
    expect(previous).to_have_attribute(
        "href", f"/apps/shop/at?position={at['previous_activation']}"
    )
    assert at["next_activation"] is None
    expect(admin_page.locator("#next-activation")).to_have_count(0)
    assert first in shown and later not in shown
