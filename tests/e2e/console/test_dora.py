"""Deploy metrics (DORA) in a real browser: the Metrics tab of an app shows one chart per
metric with the figures of a scripted story (record runtime): shop deploys v1 and v2, a
person rolls v2 back to v1, then v3 goes out. The overall page pools the apps a key may
read."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import create_app, deploy, wait_promotion
from tests.support.live import (
    assert_fragments_only,
    assert_nothing_fetched_before_the_next_event,
    newest_position,
    open_live,
)

CHARTS = ("chart-frequency", "chart-lead-time", "chart-failure-rate", "chart-restore")


def rolled_back_once(api: LedgerStub, app: str = "shop") -> None:
    create_app(api, app)
    first = deploy(api, app, f"{app}:1")
    deploy(api, app, f"{app}:2")
    rollback = api.RollbackRelease(pb.RollbackReleaseRequest(app=app, release_id=first.id))
    assert wait_promotion(api, app, rollback.promotion.id).status == "succeeded"
    deploy(api, app, f"{app}:3")


def test_the_metrics_tab_shows_a_chart_per_metric_with_the_storys_figures(
    admin_page: Page, api: LedgerStub
) -> None:
    rolled_back_once(api)
    admin_page.goto("/apps/shop/releases")

    admin_page.locator("nav.tabs").get_by_role("link", name="Metrics").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/metrics$"))
    for chart in CHARTS:  # 30 days, a point per day
        expect(admin_page.locator(f"svg#{chart}[role=img]")).to_have_attribute("data-points", "31")
    frequency = admin_page.locator("#metric-frequency")
    expect(frequency.locator(".figure")).to_have_text("0.13 per day")  # 4 in 30 days
    expect(frequency.locator(".detail")).to_have_text("4 successful promotions")
    expect(frequency.locator("svg rect.bar[data-value='4']")).to_have_count(1)
    rate = admin_page.locator("#metric-failure-rate")
    expect(rate.locator(".figure")).to_have_text("25%")
    expect(rate.locator(".detail")).to_have_text("1 of 4 ended promotions failed")
    expect(rate.locator("svg rect.bar[data-value='0.25']")).to_have_count(1)
    lead = admin_page.locator("#metric-lead-time")
    expect(lead.locator(".detail")).to_contain_text("median of 3")
    expect(lead.locator(".detail")).to_contain_text("from the build")
    expect(lead.locator("svg circle.dot")).to_have_count(1)
    restore = admin_page.locator("#metric-restore")
    expect(restore.locator(".detail")).to_contain_text("median of 1")
    expect(restore.locator(".detail")).to_contain_text("0 not restored")
    expect(admin_page.locator("svg#chart-frequency title").first).to_have_text(
        "Deployments per period"
    )


def test_the_window_form_cuts_the_metrics_into_weeks(admin_page: Page, api: LedgerStub) -> None:
    rolled_back_once(api)
    admin_page.goto("/apps/shop/metrics")

    admin_page.locator("#dora-window select[name=period]").select_option("week")
    admin_page.locator("#dora-window input[name=days]").fill("14")
    admin_page.get_by_role("button", name="Show").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/metrics\?period=week&days=14$"))
    expect(admin_page.locator("svg#chart-frequency")).to_have_attribute(
        "data-points",
        re.compile(r"^[23]$"),  # 14 days touch two or three weeks
    )
    expect(admin_page.locator("#metric-frequency .figure")).to_have_text("0.29 per day")


def test_the_overall_page_pools_only_the_apps_the_key_may_read(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    rolled_back_once(api, "shop")
    create_app(api, "blog")
    deploy(api, "blog", "blog:1")
    page = page_as("reader", "blog")
    page.goto("/")

    page.get_by_role("link", name="Metrics").click()

    expect(page).to_have_url(re.compile(r"/dora$"))
    expect(page.locator("#metric-frequency .detail")).to_have_text("1 successful promotion")
    expect(page.locator("#dora-window .hint")).to_contain_text("blog")
    expect(page.locator("#dora-window .hint")).not_to_contain_text("shop")


def test_a_bad_window_is_a_one_line_error_page(admin_page: Page, api: LedgerStub) -> None:
    create_app(api, "shop")

    response = admin_page.goto("/apps/shop/metrics?period=month")

    assert response is not None and response.status == 400
    expect(admin_page.locator("body")).to_contain_text("period must be day, week or all")


def test_the_metrics_tab_of_an_app_the_key_may_not_read_is_refused(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    for app in ("shop", "blog"):
        create_app(api, app)
    page = page_as("reader", "blog")

    response = page.goto("/apps/shop/metrics")

    assert response is not None and response.status == 403


def test_the_metrics_tab_follows_promotions_as_they_end(admin_page: Page, api: LedgerStub) -> None:
    create_app(api, "shop")
    deploy(api, "shop", "shop:1")
    admin_page.goto("/apps/shop/metrics")
    expect(admin_page.locator("#metric-frequency .detail")).to_have_text("1 successful promotion")

    deploy(api, "shop", "shop:2")

    expect(admin_page.locator("#metric-frequency .detail")).to_have_text("2 successful promotions")


def test_the_metrics_tab_fetches_only_its_charts_live_and_nothing_when_its_stream_opens(
    admin_page: Page, api: LedgerStub
) -> None:
    create_app(api, "shop")
    deploy(api, "shop", "shop:1")
    asked = open_live(admin_page, "/apps/shop/metrics")
    head = newest_position(api)

    deploy(api, "shop", "shop:2")

    expect(admin_page.locator("#metric-frequency .detail")).to_have_text("2 successful promotions")
    assert_nothing_fetched_before_the_next_event(admin_page, head)
    assert "dora-live" in {request.headers.get("hx-target") for request in asked}
    assert_fragments_only(asked, {"dora-live", "app-header"})


def test_the_overall_page_follows_promotions_of_every_app_fetching_only_its_charts(
    admin_page: Page, api: LedgerStub
) -> None:
    for app in ("shop", "blog"):
        create_app(api, app)
        deploy(api, app, f"{app}:1")
    asked = open_live(admin_page, "/dora")
    head = newest_position(api)
    expect(admin_page.locator("#metric-frequency .detail")).to_have_text("2 successful promotions")

    deploy(api, "blog", "blog:2")

    expect(admin_page.locator("#metric-frequency .detail")).to_have_text("3 successful promotions")
    assert_nothing_fetched_before_the_next_event(admin_page, head)
    assert_fragments_only(asked, {"dora-live"})
