"""The History tab and the global history, in a real browser: the audit timeline newest
first as one line per user action (expanding into its events), its filters in the URL,
paging by action, live updates, and who may read which log.

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
from tests.support.console import image_build, promote, set_env, settle
from tests.support.live import (
    assert_fragments_only,
    assert_nothing_fetched_before_the_next_event,
    assert_times_relative,
    newest_position,
    open_live,
)

SECRET = "s3cr3t-Value-9f2c71e4"


# -- reading through the API and the page ---------------------------------------------------


def actor_of(channel: grpc.Channel, token: str = "") -> str:
    """How events name a key: ``name (id)``."""
    key = KeysStub(channel).WhoAmI(pb.WhoAmIRequest(), metadata=bearer(token) if token else None)
    return f"{key.name} ({key.id})"


def lines(page: Page) -> list[dict[str, str]]:
    """The History lines as shown: kind, first and last position, title, actor, outcome."""
    found: list[dict[str, str]] = page.locator("#actions > li").evaluate_all(
        """lines => lines.map(line => ({
            kind: line.dataset.kind, first: line.dataset.first, last: line.dataset.last,
            title: line.querySelector('summary .title').textContent.trim(),
            actor: line.querySelector('summary .actor').getAttribute('title'),
            outcome: line.querySelector('summary .outcome').textContent.trim()}))"""
    )
    return found


def a_day_of_actions(api: LedgerStub, admin_channel: grpc.Channel) -> tuple[str, str]:
    """Eight things people did to app shop (each one line): create it, build and deploy,
    change the env (which deploys), build and deploy again, roll back, create a key.
    Returns the releases of the two builds."""
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    first = image_build(api, "shop", "shop:1").release_id
    promote(api, "shop", first)
    changed = api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"GREETING": SECRET}, promote=True))
    settle(api, "shop", changed.promotion.id)
    second = image_build(api, "shop", "shop:2").release_id
    promote(api, "shop", second)
    rolled = api.RollbackRelease(pb.RollbackReleaseRequest(app="shop", release_id=first))
    settle(api, "shop", rolled.promotion.id)
    create_key(admin_channel, "ci", "deployer", "shop")
    return first, second


# -- the History tab ------------------------------------------------------------------------


def test_a_day_of_actions_reads_as_one_line_per_action_newest_first(
    admin_page: Page, api: LedgerStub, admin_channel: grpc.Channel
) -> None:
    _, second = a_day_of_actions(api, admin_channel)

    admin_page.goto("/apps/shop/history")

    shown = lines(admin_page)
    assert [line["kind"] for line in shown] == [
        "rollback", "deploy", "build", "env", "deploy", "build", "AppCreated",
    ]  # fmt: skip
    assert {line["actor"] for line in shown} == {actor_of(admin_channel)}
    assert {line["outcome"] for line in shown} == {"succeeded", "recorded"}
    assert shown[1]["title"] == f"Deploy {second}"
    assert shown[3]["title"] == "Env change v1: added GREETING · deploys"
    assert shown[0]["title"] == "Rollback to v1"
    expect(admin_page.locator("#actions > li").first.locator(".version")).to_have_text("v4")
    assert SECRET not in admin_page.content()


def test_the_key_created_that_day_is_a_line_of_the_global_history(
    admin_page: Page, api: LedgerStub, admin_channel: grpc.Channel
) -> None:
    a_day_of_actions(api, admin_channel)

    admin_page.goto("/history")

    newest = admin_page.locator("#actions > li").first
    expect(newest).to_have_attribute("data-kind", "KeyCreated")
    expect(newest.locator("summary .title")).to_have_text("Key created: ci (deployer)")
    expect(admin_page.locator("#actions > li[data-app=shop]")).to_have_count(7)


def test_a_line_expands_into_its_events_with_ledgerds_steps_and_the_request_id(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    release = image_build(api, "shop", "shop:1").release_id
    request = pb.PromoteReleaseRequest(app="shop", release_id=release, request_id="deploy-1")
    settle(api, "shop", api.PromoteRelease(request).id)
    admin_page.goto("/apps/shop/history")
    deploy = admin_page.locator("#actions > li[data-kind=deploy]")
    steps = deploy.locator("tr[data-type=PromotionStarted]")
    expect(steps).to_be_hidden()

    deploy.locator(":scope > details > summary").click()

    expect(steps).to_be_visible()
    expect(steps.locator(".actor")).to_have_text("ledgerd")
    expect(deploy.locator("tr[data-type=ReleaseActivated]")).to_be_visible()
    expect(deploy.locator("tr[data-type=PromotionSettled]")).to_be_visible()
    expect(deploy.locator(".action-facts .request")).to_have_text("request deploy-1")
    expect(deploy.get_by_role("link", name="promotion").first).to_have_attribute(
        "href", re.compile(r"^/apps/shop/promotions/P")
    )
    kinds = deploy.locator("tr[data-type]").evaluate_all("rows => rows.map(r => r.dataset.type)")
    assert kinds[0] == "PromotionRequested" and kinds[-1] == "PromotionSettled"


def test_filtering_by_type_groups_only_the_events_of_that_type_and_the_url_carries_it(
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
    expect(admin_page.locator("#actions > li")).to_have_count(2)
    expect(admin_page.locator("#actions > li[data-kind=env]")).to_have_count(2)
    expect(admin_page.get_by_label("Event types")).to_have_values(["EnvChanged"])


def test_filtering_by_actor_keeps_only_that_keys_actions(
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
    expect(admin_page.locator("#actions > li")).to_have_count(1)
    expect(admin_page.locator("#actions > li summary .actor")).to_have_attribute(
        "title", actor_of(admin_channel, ci)
    )


def test_the_older_link_pages_back_by_action(admin_page: Page, api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    for count in range(55):
        set_env(api, "shop", COUNT=str(count))
    admin_page.goto("/apps/shop/history")
    expect(admin_page.locator("#actions > li")).to_have_count(25)
    oldest_shown = int(lines(admin_page)[-1]["first"])

    admin_page.get_by_role("link", name="Older").click()

    expect(admin_page).to_have_url(re.compile(rf"before={oldest_shown}"))
    expect(admin_page.locator("#actions > li")).to_have_count(25)
    assert max(int(line["last"]) for line in lines(admin_page)) < oldest_shown
    admin_page.get_by_role("link", name="Older").click()
    expect(admin_page.locator("#actions > li")).to_have_count(6)  # 5 env changes, AppCreated
    expect(admin_page.get_by_role("link", name="Older")).to_have_count(0)


def test_an_action_recorded_while_the_page_is_open_appears_at_the_top(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    admin_page.goto("/apps/shop/history")
    first = admin_page.locator("#actions > li").first
    expect(first).to_have_attribute("data-kind", "AppCreated")

    set_env(api, "shop", FRESH="1")

    expect(first).to_have_attribute("data-kind", "env")
    expect(first.locator("summary .title")).to_have_text("Env change v1: added FRESH")


def test_a_line_opened_stays_open_when_an_event_arrives(admin_page: Page, api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", FIRST="1")
    admin_page.goto("/apps/shop/history")
    first = admin_page.locator("#actions > li[data-kind=env]").get_attribute("data-first")
    change = admin_page.locator(f"#actions > li[data-first='{first}']")
    change.locator(":scope > details > summary").click()
    expect(change.locator("tr[data-type=EnvChanged]")).to_be_visible()

    set_env(api, "shop", SECOND="2")

    expect(admin_page.locator("#actions > li[data-kind=env]")).to_have_count(2)
    expect(change.locator("tr[data-type=EnvChanged]")).to_be_visible()


def test_the_history_tab_fetches_only_its_lines_live_and_nothing_when_its_stream_opens(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    asked = open_live(admin_page, "/apps/shop/history")
    head = newest_position(api)

    set_env(api, "shop", FRESH="1")

    expect(admin_page.locator("#actions > li").first).to_have_attribute("data-kind", "env")
    assert_nothing_fetched_before_the_next_event(admin_page, head)
    assert "history-rows" in {request.headers.get("hx-target") for request in asked}
    assert_fragments_only(asked, {"history-rows", "app-header"})


def test_the_global_history_fetches_only_its_lines_live_and_nothing_when_its_stream_opens(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    asked = open_live(admin_page, "/history")
    assert "since=" in (admin_page.locator("#history-live").get_attribute("sse-connect") or "")
    head = newest_position(api)

    api.CreateApp(pb.CreateAppRequest(name="cart"))

    expect(admin_page.locator("#actions > li").first).to_have_attribute("data-app", "cart")
    assert_nothing_fetched_before_the_next_event(admin_page, head)
    assert_fragments_only(asked, {"history-rows"})


def test_every_history_time_reads_how_long_ago_with_the_exact_utc_time_on_hover(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", A="1")

    for path in ("/apps/shop/history", "/history"):
        admin_page.goto(path)
        expect(admin_page.locator("#actions > li[data-app=shop]")).to_have_count(2)

        # each line's time and each of its events' (inside the closed lines)
        assert assert_times_relative(admin_page, "#actions time") >= 4


def test_env_values_never_appear_in_the_history_page(admin_page: Page, api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", API_TOKEN=SECRET)
    promote(api, "shop", image_build(api, "shop", "shop:1").release_id)
    set_env(api, "shop", API_TOKEN=SECRET + "-rotated")

    admin_page.goto("/apps/shop/history")
    build = admin_page.locator("#actions > li[data-kind=build]")
    build.locator(":scope > details > summary").click()
    build.locator("tr[data-type=ReleaseCreated] details summary").click()  # the full data

    expect(build.locator("tr[data-type=ReleaseCreated] pre.data")).to_contain_text("API_TOKEN")
    assert SECRET not in admin_page.content()


def test_a_reader_sees_its_own_apps_history(page_as: Callable[..., Page], api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    set_env(api, "shop", A="1")
    page = page_as("reader", "shop")

    page.goto("/apps/shop/history")

    expect(page.locator("#actions > li[data-kind=env]")).to_be_visible()
    expect(page.locator("#actions > li[data-kind=AppCreated]")).to_be_visible()


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

    expect(page.locator("#actions > li[data-app=shop][data-kind=AppCreated]")).to_be_visible()
    expect(page.locator("#actions > li[data-app=blog][data-kind=AppCreated]")).to_be_visible()
    page.get_by_label("App").select_option("blog")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/history\?app=blog"))
    expect(page.locator("#actions > li[data-app=shop]")).to_have_count(0)
    expect(page.locator("#actions > li[data-app=blog]")).to_have_count(1)
