"""The History tab and the global history, in a real browser: the audit timeline newest
first, its filters in the URL, live updates, and who may read which log.

Data is arranged through the gRPC API (as the admin, or as another key to get another
actor) with the helpers of tests/support/console.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import grpc
from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from tests.support.auth import bearer, create_key
from tests.support.console import image_build, promote, set_env

SECRET = "s3cr3t-Value-9f2c71e4"


# -- reading through the API and the page ---------------------------------------------------


def actor_of(channel: grpc.Channel, token: str = "") -> str:
    """How events name a key: ``name (id)``."""
    key = KeysStub(channel).WhoAmI(pb.WhoAmIRequest(), metadata=bearer(token) if token else None)
    return f"{key.name} ({key.id})"


def rows(page: Page) -> list[dict[str, str]]:
    """The History table's rows as shown: position, type and actor of each."""
    found: list[dict[str, str]] = page.locator("#events tbody tr").evaluate_all(
        """rows => rows.map(row => ({
            position: row.dataset.position, type: row.dataset.type,
            actor: row.querySelector('.actor').textContent.trim()}))"""
    )
    return found


# -- the History tab ------------------------------------------------------------------------


def test_the_history_tab_lists_an_env_change_and_a_promotion_with_their_actors_newest_first(
    admin_page: Page, api: LedgerStub, admin_channel: grpc.Channel
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", GREETING="hello")
    release = image_build(api, "shop", "shop:1").release_id
    _, ci = create_key(admin_channel, "ci", "deployer", "shop")
    promote(api, "shop", release, token=ci)

    admin_page.goto("/apps/shop/history")

    env_row = admin_page.locator("#events tr[data-type=EnvChanged]")
    expect(env_row.locator(".actor")).to_have_text(actor_of(admin_channel))
    expect(env_row.locator(".summary")).to_have_text("env v1: added GREETING")
    requested = admin_page.locator("#events tr[data-type=PromotionRequested]")
    expect(requested.locator(".actor")).to_have_text(actor_of(admin_channel, ci))
    expect(requested.locator(".summary")).to_contain_text(f"of release {release}: requested")
    expect(requested.get_by_role("link", name="promotion")).to_have_attribute(
        "href", re.compile(r"^/apps/shop/promotions/P")
    )
    shown = rows(admin_page)
    positions = [int(row["position"]) for row in shown]
    assert positions == sorted(positions, reverse=True)
    assert shown[0]["type"] == "PromotionSettled"
    assert shown[-1]["type"] == "AppCreated"


def test_filtering_by_type_shows_only_that_type_and_the_url_carries_the_filter(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", A="1")
    set_env(api, "shop", B="2")
    image_build(api, "shop", "shop:1")
    admin_page.goto("/apps/shop/history")

    admin_page.get_by_label("Event types").select_option(["EnvChanged"])
    admin_page.get_by_role("button", name="Filter").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/history\?.*types=EnvChanged"))
    expect(admin_page.locator("#events tbody tr")).to_have_count(2)
    expect(admin_page.locator("#events tbody tr[data-type=EnvChanged]")).to_have_count(2)
    expect(admin_page.get_by_label("Event types")).to_have_values(["EnvChanged"])


def test_filtering_by_actor_keeps_only_that_keys_events(
    admin_page: Page, api: LedgerStub, admin_channel: grpc.Channel
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    _, ci = create_key(admin_channel, "ci-bot", "deployer", "shop")
    api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"A": "1"}), metadata=bearer(ci))
    set_env(api, "shop", B="2")
    admin_page.goto("/apps/shop/history")

    admin_page.get_by_label("Actor").fill("ci-bot")
    admin_page.get_by_role("button", name="Filter").click()

    expect(admin_page).to_have_url(re.compile(r"actor=ci-bot"))
    expect(admin_page.locator("#events tbody tr")).to_have_count(1)
    expect(admin_page.locator("#events tbody tr .actor")).to_have_text(actor_of(admin_channel, ci))


def test_the_older_link_pages_back_through_the_timeline(admin_page: Page, api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    for count in range(55):
        set_env(api, "shop", COUNT=str(count))
    admin_page.goto("/apps/shop/history")
    expect(admin_page.locator("#events tbody tr")).to_have_count(50)
    last_shown = int(
        admin_page.locator("#events tbody tr").last.get_attribute("data-position") or 0
    )

    admin_page.get_by_role("link", name="Older").click()

    expect(admin_page).to_have_url(re.compile(rf"before={last_shown}"))
    expect(admin_page.locator("#events tbody tr")).to_have_count(6)  # 5 env changes, AppCreated
    assert max(int(row["position"]) for row in rows(admin_page)) < last_shown
    expect(admin_page.get_by_role("link", name="Older")).to_have_count(0)


def test_an_event_recorded_while_the_page_is_open_appears_at_the_top(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    admin_page.goto("/apps/shop/history")
    first = admin_page.locator("#events tbody tr").first
    expect(first).to_have_attribute("data-type", "AppCreated")

    set_env(api, "shop", FRESH="1")

    expect(first).to_have_attribute("data-type", "EnvChanged")
    expect(first.locator(".summary")).to_have_text("env v1: added FRESH")


def test_env_values_never_appear_in_the_history_page(admin_page: Page, api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", API_TOKEN=SECRET)
    promote(api, "shop", image_build(api, "shop", "shop:1").release_id)
    set_env(api, "shop", API_TOKEN=SECRET + "-rotated")

    admin_page.goto("/apps/shop/history")
    admin_page.locator("#events details").first.click()  # the full data, opened

    expect(admin_page.locator("#events tr[data-type=ReleaseCreated]")).to_have_count(2)
    expect(admin_page.locator("#events pre.data").first).to_contain_text("API_TOKEN")
    assert SECRET not in admin_page.content()


def test_a_reader_sees_its_own_apps_history(page_as: Callable[..., Page], api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", A="1")
    page = page_as("reader", "shop")

    page.goto("/apps/shop/history")

    expect(page.locator("#events tr[data-type=EnvChanged]")).to_be_visible()
    expect(page.locator("#events tr[data-type=AppCreated]")).to_be_visible()


def test_a_reader_is_refused_another_apps_history(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    for name in ("shop", "blog"):
        api.CreateApp(pb.CreateAppRequest(name=name))
    page = page_as("reader", "shop")

    response = page.goto("/apps/blog/history")

    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("may not read app blog")


# -- the global history ---------------------------------------------------------------------


def test_the_global_history_refuses_a_reader_key_with_the_reason(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    page = page_as("reader", "shop")

    response = page.goto("/history")

    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("may not read the log of every app")


def test_the_global_history_shows_every_apps_events_to_an_auditor(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    for name in ("shop", "blog"):
        api.CreateApp(pb.CreateAppRequest(name=name))
    page = page_as("auditor")

    page.goto("/history")

    expect(page.locator("#events tr[data-app=shop][data-type=AppCreated]")).to_be_visible()
    expect(page.locator("#events tr[data-app=blog][data-type=AppCreated]")).to_be_visible()
    page.get_by_label("App").select_option("blog")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/history\?app=blog"))
    expect(page.locator("#events tr[data-app=shop]")).to_have_count(0)
    expect(page.locator("#events tr[data-app=blog]")).to_have_count(1)
