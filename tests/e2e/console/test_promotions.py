"""The Promotions tab and a promotion's page, in a real browser: with the record runtime,
and with real rollouts on the machine's Docker Engine (steps arriving live, a failure's
cause, cancelling), whose images are built from source like ``ledgerctl build`` does."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.builds import upload
from tests.support.console import promote, settle, shop
from tests.support.docker import EXITING_APP, HTTP_APP, NEVER_HEALTHY_APP, write_context

# One HTTP service whose health check passes about two seconds after the container starts,
# so the promotion page is open while the rollout records its steps.
MANIFEST = """\
services:
  web:
    port: 8000
    health: {path: /health, grace: 20, interval: 0.2, timeout: 1}
"""
SLOW_START_APP = "sleep 2\n" + HTTP_APP


# --- the record runtime ---


def test_the_promotions_tab_lists_promotions_newest_first(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, v2 = shop(api, releases=2, active=1)
    second = promote(api, "shop", v2)
    admin_page.goto("/apps/shop/promotions")

    rows = admin_page.locator("#promotions tr[data-promotion]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-promotion", second.id)
    expect(rows.first.locator(".badge.ok")).to_have_text("succeeded")
    expect(rows.first).to_contain_text(f"v2 {v2}")
    expect(rows.first).to_contain_text(f"v1 {v1}")


def test_the_promotions_tab_shows_a_new_promotion_live(admin_page: Page, api: LedgerStub) -> None:
    _v1, v2 = shop(api, releases=2, active=1)
    admin_page.goto("/apps/shop/promotions")
    expect(admin_page.locator("#promotions tr[data-promotion]")).to_have_count(1)

    second = promote(api, "shop", v2)

    row = admin_page.locator(f"#promotions tr[data-promotion={second.id}]")
    expect(row).to_have_attribute("data-status", "succeeded")


def test_a_promotion_page_shows_its_releases_and_recorded_steps(
    admin_page: Page, api: LedgerStub
) -> None:
    v1, v2 = shop(api, releases=2, active=1)
    done = promote(api, "shop", v2)
    admin_page.goto("/apps/shop/promotions")
    admin_page.get_by_role("link", name=done.id).click()

    expect(admin_page.locator("#promotion-status")).to_have_text("succeeded")
    expect(admin_page.locator("#promotion-release")).to_have_text(f"v2 {v2}")
    expect(admin_page.locator("#promotion-previous")).to_have_text(f"v1 {v1}")
    step = admin_page.locator("ol.timeline li[data-kind=recorded]")
    expect(step).to_have_class("ok")
    expect(step).to_contain_text("release v2 recorded as running")
    expect(admin_page.get_by_role("button", name="Cancel promotion")).to_have_count(0)


def test_another_apps_promotion_is_not_found_under_this_app(
    admin_page: Page, api: LedgerStub
) -> None:
    shop(api, releases=1)
    api.CreateApp(pb.CreateAppRequest(name="blog"))
    (shop_promotion,) = api.ListPromotions(pb.ListPromotionsRequest(app="shop")).promotions

    response = admin_page.goto(f"/apps/blog/promotions/{shop_promotion.id}")

    assert response is not None and response.status == 404
    expect(admin_page.get_by_role("alert")).to_contain_text("not found in app blog")


# --- real rollouts on Docker ---


@pytest.fixture
def build_source(
    docker_api: LedgerStub, docker_app: str, tmp_path: Path
) -> Callable[[str, str], str]:
    """``build_source(name, app_sh)``: upload a busybox source (``app_sh`` serving on
    $PORT, :data:`MANIFEST`) to a new build of ``docker_app``; returns the build id."""
    docker_api.CreateApp(pb.CreateAppRequest(name=docker_app))

    def build(name: str, app_sh: str) -> str:
        directory = write_context(tmp_path / "src" / name, app_sh, {"ledger.yml": MANIFEST})
        return str(docker_api.CreateBuild(upload(docker_app, directory, description=name)).id)

    return build


def promote_in_browser(page: Page, app: str, version: int) -> None:
    """Wait (live) for release v``version`` on the Releases tab, then promote it there."""
    page.goto(f"/apps/{app}/releases")
    release = page.locator(f"#releases tr[data-version='{version}']")
    release.get_by_role("link", name=f"Promote v{version}").click()
    page.get_by_role("button", name=f"Promote v{version}").click()
    expect(page).to_have_url(re.compile(rf"/apps/{app}/promotions/P\w+$"))


@pytest.mark.docker
def test_a_rollouts_steps_appear_live_on_its_promotion_page(
    docker_page: Page, docker_app: str, build_source: Callable[[str, str], str]
) -> None:
    build_source("slow-start", SLOW_START_APP)
    promote_in_browser(docker_page, docker_app, 1)
    docker_page.evaluate("window.stillTheSamePage = true")
    status = docker_page.locator("#promotion-status")
    started = docker_page.locator("ol.timeline li[data-kind=container_started]")
    healthy = docker_page.locator("ol.timeline li[data-kind=container_healthy]")

    expect(status).to_have_text("running")
    expect(started).to_be_visible()
    expect(healthy).to_have_count(0)  # the container takes two seconds to serve

    expect(healthy).to_contain_text("healthy")
    expect(healthy).to_have_class("ok")
    expect(status).to_have_text("succeeded")
    expect(docker_page.get_by_role("button", name="Cancel promotion")).to_have_count(0)
    assert docker_page.evaluate("window.stillTheSamePage") is True  # no reload: pushed live


@pytest.mark.docker
def test_a_rollout_whose_container_exits_at_start_shows_its_failure_cause(
    docker_page: Page, docker_app: str, build_source: Callable[[str, str], str]
) -> None:
    build_source("exits", EXITING_APP)
    promote_in_browser(docker_page, docker_app, 1)

    expect(docker_page.locator("#promotion-status")).to_have_text("rolled_back")
    cause = docker_page.locator("#cause")
    expect(cause.locator(".cause-kind")).to_have_text("process_failed")
    expect(cause.locator("[data-field=service]")).to_have_text("web")
    expect(cause.locator("[data-field=container]")).not_to_be_empty()
    expect(cause.locator("[data-field=exit_code]")).to_have_text("3")
    expect(cause.locator("[data-field=output]")).to_contain_text("failing on purpose")
    failed = docker_page.locator("ol.timeline li[data-kind=container_failed]").first
    expect(failed).to_have_class("bad")


@pytest.mark.docker
def test_cancelling_a_running_rollout_keeps_the_previous_release_active(
    docker_page: Page,
    docker_api: LedgerStub,
    docker_app: str,
    build_source: Callable[[str, str], str],
) -> None:
    build_source("good", HTTP_APP)
    promote_in_browser(docker_page, docker_app, 1)
    expect(docker_page.locator("#promotion-status")).to_have_text("succeeded")
    good = docker_api.GetApp(pb.GetAppRequest(name=docker_app)).active_release_id
    build_source("never-healthy", NEVER_HEALTHY_APP)
    promote_in_browser(docker_page, docker_app, 2)
    expect(docker_page.locator("li[data-kind=container_started]")).to_be_visible()

    docker_page.get_by_role("button", name="Cancel promotion").click()

    expect(docker_page.locator("#promotion-status")).to_have_text("cancelled")
    expect(docker_page.locator("#cause .cause-kind")).to_have_text("cancelled")
    expect(docker_page.get_by_role("button", name="Cancel promotion")).to_have_count(0)
    promotion_id = docker_page.url.rsplit("/", 1)[-1]
    assert settle(docker_api, docker_app, promotion_id).status == "cancelled"
    assert docker_api.GetApp(pb.GetAppRequest(name=docker_app)).active_release_id == good


@pytest.mark.docker
def test_a_promotion_confirmed_during_a_rollout_is_refused_unless_queued_behind_it(
    docker_page: Page,
    docker_api: LedgerStub,
    docker_app: str,
    build_source: Callable[[str, str], str],
) -> None:
    build_source("never-healthy", NEVER_HEALTHY_APP)
    promote_in_browser(docker_page, docker_app, 1)
    expect(docker_page.locator("#promotion-status")).to_have_text("running")
    first = docker_page.url.rsplit("/", 1)[-1]
    build_source("good", HTTP_APP)
    docker_page.goto(f"/apps/{docker_app}/releases")
    docker_page.locator("tr[data-version='2']").get_by_role("link", name="Promote v2").click()
    expect(docker_page.locator("#in-flight-notice")).to_contain_text(first)

    docker_page.get_by_role("button", name="Promote v2").click()
    expect(docker_page.get_by_role("alert")).to_contain_text("is in flight")
    docker_page.go_back()
    docker_page.get_by_label("Queue behind the rollout in flight").check()
    docker_page.get_by_role("button", name="Promote v2").click()

    expect(docker_page.locator("#promotion-queued")).to_have_text("queued")
    queued = docker_page.url.rsplit("/", 1)[-1]
    docker_api.CancelPromotion(pb.CancelPromotionRequest(app=docker_app, id=first))
    expect(docker_page.locator("#promotion-queued")).to_have_count(0)  # it began, live
    assert settle(docker_api, docker_app, queued).status == "succeeded"
    expect(docker_page.locator("#promotion-status")).to_have_text("succeeded")
