"""A newcomer reads the console: what each release is and which one is live, what a
rollback will change before pressing the button that says so, times as "how long ago"
with the exact time on hover, and live regions that fetch only themselves (record
runtime; a failed promotion on the machine's Docker Engine)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.browser import TIMEOUT_MS, sign_in
from tests.support.builds import upload
from tests.support.console import (
    WAIT_SECONDS,
    create_workflow,
    image_build,
    promote,
    settle,
    shop,
)
from tests.support.docker import EXITING_APP, HTTP_APP, write_context
from tests.support.ledgerd import InProcessLedgerd
from tests.support.live import EXACT_UTC, LOG_LIVE, RELATIVE

LISTEN = """(url) => new Promise((opened) => {
  window.messages = [];
  const source = new EventSource(url);
  source.addEventListener("ledger", (event) => window.messages.push(JSON.parse(event.data)));
  source.onopen = () => opened(true);
})"""
FIRST = "() => window.messages.length > 0"


def test_the_releases_tab_says_what_each_release_is_and_which_one_is_live(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, _v2, v3 = shop(api)
    change = pb.UpdateEnvRequest(app="shop", set={"A": "1"}, promote=True)
    settle(api, "shop", api.UpdateEnv(change).promotion.id)

    admin_page.goto("/apps/shop/releases")

    live = admin_page.locator("#releases tr.active")
    expect(live).to_have_attribute("data-version", "4")
    expect(live.locator(".badge.live")).to_have_text("● Live")
    expect(live.locator("td.what")).to_contain_text("Env change")
    expect(admin_page.locator("#releases .badge.live")).to_have_count(1)
    was_live = admin_page.locator(f"tr[data-release={v3}]")
    expect(was_live.locator(".badge.was-live")).to_have_text("was live")
    expect(was_live.locator("td.what")).to_contain_text("Deploy")
    expect(was_live.locator("td.what .image")).to_contain_text("shop:3")
    never_live = admin_page.locator(f"tr[data-release={v1}]")
    expect(never_live.locator(".badge")).to_have_count(0)
    expect(never_live.locator("td.secondary")).to_have_text(v1)  # the id, last and small
    expect(admin_page.locator("#app-status")).to_have_text("Healthy · v4 live")


def test_rolling_back_shows_the_env_change_first_and_the_button_says_roll_back_to_v1(
    admin_page: Page, api: LedgerStub
) -> None:
    (v1,) = shop(api, releases=1)
    change = pb.UpdateEnvRequest(app="shop", set={"DB": "postgres://x", "MODE": "fast"})
    change.promote = True
    settle(api, "shop", api.UpdateEnv(change).promotion.id)
    admin_page.goto("/apps/shop/releases")

    admin_page.locator(f"tr[data-release={v1}]").get_by_role("link", name="Roll back to v1").click()

    expect(admin_page.locator("#what")).to_contain_text("creates a new release with v1's build")
    removed = admin_page.locator("#env-changes tr[data-change=removed]")
    expect(removed).to_have_count(2)
    expect(removed.first).to_have_attribute("data-key", "DB")
    expect(removed.first.locator(".masked")).to_have_text("***")  # values masked by default
    admin_page.get_by_role("link", name="Reveal values").click()
    expect(admin_page.locator("#env-changes tr[data-key=DB] .value")).to_have_text("postgres://x")
    admin_page.get_by_role("button", name="Roll back to v1").click()

    expect(admin_page.locator("#promotion-status")).to_have_text("succeeded")
    admin_page.locator("nav.tabs").get_by_role("link", name="Releases").click()
    live = admin_page.locator("#releases tr.active")
    expect(live).to_have_attribute("data-version", "3")
    expect(live.locator("td.what .reason")).to_have_text("Rollback to v1")


def test_the_apps_list_shows_paused_automatic_promotion_as_the_app_s_status(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, _v2, _v3 = shop(api)
    api.CreateApp(pb.CreateAppRequest(name="blog"))
    create_workflow(api, "shop-main", "https://git.example.com/acme/shop.git", "shop")
    rollback = api.RollbackRelease(pb.RollbackReleaseRequest(app="shop", release_id=v1))
    settle(api, "shop", rollback.promotion.id)  # a person rolled back: workflows pause

    admin_page.goto("/")

    shop_status = admin_page.locator("#apps tr[data-app=shop] td.status")
    expect(shop_status).to_have_text("Auto-deploy paused · v4 live")
    expect(shop_status.locator(".status-pill")).to_have_attribute("title", re.compile("v1"))
    expect(admin_page.locator("#apps tr[data-app=blog] td.status")).to_have_text("No release live")


def test_rolling_back_works_without_javascript(
    browser: Browser, console_ledgerd: InProcessLedgerd, api: LedgerStub
) -> None:
    v1, _v2 = shop(api, releases=2)
    context = browser.new_context(base_url=console_ledgerd.console_url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, console_ledgerd.token)
    page.goto("/apps/shop/releases")

    page.locator(f"tr[data-release={v1}]").get_by_role("link", name="Roll back to v1").click()
    page.get_by_role("button", name="Roll back to v1").click()

    expect(page).to_have_url(re.compile(r"/apps/shop/promotions/P\w+$"))
    settle(api, "shop", page.url.rsplit("/", 1)[-1])
    page.goto("/apps/shop/releases")  # no live region without JavaScript: read it again
    expect(page.locator("#releases tr.active td.what .reason")).to_have_text("Rollback to v1")
    context.close()


@pytest.mark.parametrize("tab", ["releases", "promotions", "builds", "release", "promotion"])
def test_every_time_reads_how_long_ago_with_the_exact_utc_time_on_hover(
    admin_page: Page, api: LedgerStub, tab: str
) -> None:
    (v1,) = shop(api, releases=1)
    promotion = api.ListPromotions(pb.ListPromotionsRequest(app="shop")).promotions[0]
    path = {"release": f"releases/{v1}", "promotion": f"promotions/{promotion.id}"}.get(tab, tab)

    admin_page.goto(f"/apps/shop/{path}")

    times = admin_page.locator("main time")
    expect(times.first).to_be_visible()
    for index in range(times.count()):
        shown = times.nth(index)
        assert RELATIVE.match(shown.inner_text()), shown.inner_text()
        assert EXACT_UTC.match(shown.get_attribute("title") or ""), shown.get_attribute("title")
        assert (shown.get_attribute("datetime") or "").endswith("+00:00")


def test_a_live_region_fetches_only_itself_and_nothing_when_its_stream_opens(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, _v2 = shop(api, releases=2)
    asked: list[Request] = []

    def from_this_page(request: Request) -> None:  # not the apps list signing in left behind
        if request.headers.get("hx-current-url", "").endswith("/apps/shop/releases"):
            asked.append(request)

    admin_page.on("request", from_this_page)
    admin_page.add_init_script(LOG_LIVE)
    admin_page.goto("/apps/shop/releases")
    admin_page.wait_for_function("() => window.liveLog.some((entry) => entry.kind === 'open')")
    head = api.ListEvents(pb.ListEventsRequest(newest_first=True, page_size=1)).events[0]

    promote(api, "shop", v1)

    expect(admin_page.locator(f"tr[data-release={v1}] .badge.live")).to_be_visible()
    log = admin_page.evaluate("window.liveLog")
    first = next(i for i, entry in enumerate(log) if entry["kind"] == "message")
    assert log[first]["position"] > head.position  # no catch-up: the page was up to date
    assert [e for e in log[:first] if e["kind"] == "request"] == []  # nothing on opening
    assert {r.headers.get("hx-target") for r in asked} == {"releases-table", "app-header"}
    for request in asked:
        response = request.response()
        assert response is not None and response.status == 200
        assert "<html" not in response.text()  # a fragment, not the page


def test_a_stream_opened_after_the_page_announces_the_events_the_page_missed(
    admin_page: Page, api: LedgerStub
) -> None:
    shop(api, releases=2)
    admin_page.goto("/apps/shop/releases")
    url = admin_page.locator("#app-page").get_attribute("sse-connect") or ""
    image_build(api, "shop", "shop:3")  # after the page was read

    admin_page.evaluate(LISTEN, url)

    admin_page.wait_for_function(FIRST)
    first = admin_page.evaluate("window.messages[0]")
    assert "ReleaseCreated" in first["types"]
    assert first["position"] > int(url.rsplit("=", 1)[1])


def test_a_stream_of_an_up_to_date_page_waits_for_the_next_event(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, _v2 = shop(api, releases=2)
    admin_page.goto("/apps/shop/releases")
    url = admin_page.locator("#app-page").get_attribute("sse-connect") or ""
    head = api.ListEvents(pb.ListEventsRequest(newest_first=True, page_size=1)).events[0]

    admin_page.evaluate(LISTEN, url)
    promote(api, "shop", v1)

    admin_page.wait_for_function(FIRST)
    first = admin_page.evaluate("window.messages[0]")
    assert first["position"] > head.position  # the promotion, not a catch-up of the past
    assert "PromotionRequested" in first["types"]


def test_the_favicon_answers_on_a_first_page_load(open_page: Callable[[], Page]) -> None:
    page = open_page()
    icons: list[int] = []
    page.on("response", lambda r: icons.append(r.status) if "favicon" in r.url else None)

    page.goto("/sign-in")

    assert page.request.get("/favicon.ico").status == 200
    assert all(status == 200 for status in icons), icons


# --- a failed promotion on Docker ---

MANIFEST = """\
services:
  web:
    port: 8000
    health: {path: /health, grace: 20, interval: 0.2, timeout: 1}
"""


def release_of(api: LedgerStub, app: str, build_id: str) -> str:
    """The release a build created, once its ``ReleaseCreated`` is on the event stream."""
    stream = api.WatchEvents(pb.WatchEventsRequest(app=app), timeout=WAIT_SECONDS)
    try:
        for response in stream:
            for event in response.events:
                data = json.loads(event.data)
                if event.type == "ReleaseCreated" and data.get("build_id") == build_id:
                    return str(data["release_id"])
    finally:
        stream.cancel()
    raise AssertionError(f"build {build_id} created no release")


@pytest.mark.docker
def test_the_apps_list_says_the_last_deploy_failed_while_the_old_release_serves(
    docker_page: Page, docker_api: LedgerStub, docker_app: str, tmp_path: Path
) -> None:
    docker_api.CreateApp(pb.CreateAppRequest(name=docker_app))
    for name, script in (("good", HTTP_APP), ("broken", EXITING_APP)):
        source = write_context(tmp_path / name, script, {"ledger.yml": MANIFEST})
        build = docker_api.CreateBuild(upload(docker_app, source, description=name))
        release_id = release_of(docker_api, docker_app, build.id)
        request = pb.PromoteReleaseRequest(app=docker_app, release_id=release_id)
        done = settle(docker_api, docker_app, docker_api.PromoteRelease(request).id)
    assert done.status == "rolled_back"

    docker_page.goto("/")

    row = docker_page.locator(f"#apps tr[data-app={docker_app}]")
    expect(row.locator("td.status")).to_have_text("Last deploy failed · v1 live")
    expect(row.locator("td.last-promotion")).to_contain_text("failed and was rolled back")
    row.get_by_role("link", name=docker_app, exact=True).click()
    expect(docker_page.locator("#app-status")).to_have_text("Last deploy failed · v1 live")
    expect(docker_page.locator("#last-promotion")).to_contain_text("process_failed")
