"""Signing in and out of the console, sessions and CSRF, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable

import grpc
from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from tests.support.auth import create_key
from tests.support.browser import sign_in


def test_a_signed_out_visitor_is_sent_to_sign_in_and_then_back(
    open_page: Callable[[], Page], console_ledgerd
) -> None:
    page = open_page()
    page.goto("/apps/shop/releases")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("Deploy key token").fill(console_ledgerd.token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/apps/shop/releases$"))


def test_a_wrong_token_is_refused_with_a_clear_message(open_page: Callable[[], Page]) -> None:
    page = open_page()
    page.goto("/sign-in")
    page.get_by_label("Deploy key token").fill("dl_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("No valid key has this token.")
    assert "ledger_session" not in {cookie["name"] for cookie in page.context.cookies()}


def test_the_session_cookie_is_http_only_and_same_site(admin_page: Page) -> None:
    session = [c for c in admin_page.context.cookies() if c["name"] == "ledger_session"]
    assert len(session) == 1
    assert session[0]["httpOnly"] is True
    assert session[0]["sameSite"] == "Lax"
    assert "ledger_session" not in admin_page.evaluate("document.cookie")


def test_the_header_names_the_key_and_its_role(admin_page: Page) -> None:
    admin_page.goto("/")
    expect(admin_page.locator("header .key")).to_have_text("admin")
    expect(admin_page.locator("header [data-role]")).to_have_text("admin")


def test_signing_out_ends_the_session_on_the_server(admin_page: Page) -> None:
    admin_page.goto("/")
    cookie = next(c for c in admin_page.context.cookies() if c["name"] == "ledger_session")
    admin_page.get_by_role("button", name="Sign out").click()
    expect(admin_page).to_have_url(re.compile(r"/sign-in$"))
    # The old cookie, replayed, no longer opens anything.
    admin_page.context.add_cookies([cookie])
    admin_page.goto("/")
    expect(admin_page).to_have_url(re.compile(r"/sign-in"))


def test_a_revoked_key_is_signed_out_at_its_next_page(
    open_page: Callable[[], Page], admin_channel: grpc.Channel
) -> None:
    key, token = create_key(admin_channel, "gone", "reader", "shop")
    page = open_page()
    sign_in(page, token)
    KeysStub(admin_channel).RevokeKey(ledger_pb2.RevokeKeyRequest(id=key.id))
    # A second tab of the same browser: the first may itself be sent to sign in meanwhile.
    later = page.context.new_page()
    later.goto("/")
    expect(later).to_have_url(re.compile(r"/sign-in"))
    expect(later.locator(".notice")).to_contain_text("no longer valid")


def test_an_admin_creates_an_app_from_the_apps_list(admin_page: Page, api: LedgerStub) -> None:
    admin_page.goto("/")
    admin_page.get_by_label("Name").fill("shop")
    admin_page.get_by_role("button", name="Create app").click()
    expect(admin_page).to_have_url(re.compile(r"/apps/shop/releases$"))
    assert api.GetApp(ledger_pb2.GetAppRequest(name="shop")).name == "shop"


def test_a_bad_app_name_is_refused_and_nothing_is_created(
    admin_page: Page, api: LedgerStub
) -> None:
    admin_page.goto("/")
    admin_page.get_by_label("Name").evaluate("input => input.removeAttribute('pattern')")
    admin_page.get_by_label("Name").fill("Bad Name")
    admin_page.get_by_role("button", name="Create app").click()
    expect(admin_page.get_by_role("alert")).to_contain_text("invalid app name")
    assert list(api.ListApps(ledger_pb2.ListAppsRequest()).apps) == []


def test_an_auditor_sees_every_app_but_no_create_button(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    api.CreateApp(ledger_pb2.CreateAppRequest(name="shop"))
    page = page_as("auditor")
    page.goto("/")
    expect(page.locator("tr[data-app=shop]")).to_be_visible()
    expect(page.get_by_role("button", name="Create app")).to_have_count(0)


def test_a_reader_lists_only_the_apps_on_its_key(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    for name in ("shop", "blog"):
        api.CreateApp(ledger_pb2.CreateAppRequest(name=name))
    page = page_as("reader", "blog")
    page.goto("/")
    expect(page.locator("tr[data-app]")).to_have_count(1)
    expect(page.locator("tr[data-app=blog]")).to_be_visible()


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    admin_page: Page, api: LedgerStub
) -> None:
    admin_page.goto("/")
    response = admin_page.request.post("/apps", form={"name": "forged"})
    assert response.status == 403
    assert list(api.ListApps(ledger_pb2.ListAppsRequest()).apps) == []


def test_a_forged_post_from_an_auditor_is_refused_by_the_api_rule(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    page = page_as("auditor")
    page.goto("/")
    token = page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()
    response = page.request.post("/apps", form={"name": "forged", "csrftoken": token})
    assert response.status == 403
    assert "may not create apps" in response.text()
    assert list(api.ListApps(ledger_pb2.ListAppsRequest()).apps) == []


def test_the_apps_list_updates_live_when_an_app_is_created_elsewhere(
    admin_page: Page, api: LedgerStub
) -> None:
    admin_page.goto("/")
    expect(admin_page.locator("#no-apps")).to_be_visible()
    api.CreateApp(ledger_pb2.CreateAppRequest(name="shop"))
    expect(admin_page.locator("tr[data-app=shop]")).to_be_visible()


def test_an_open_page_of_a_revoked_key_goes_to_sign_in_by_itself(
    open_page: Callable[[], Page], admin_channel: grpc.Channel, api: LedgerStub
) -> None:
    api.CreateApp(ledger_pb2.CreateAppRequest(name="shop"))
    key, token = create_key(admin_channel, "wall-screen", "reader", "shop")
    page = open_page()
    sign_in(page, token)
    page.goto("/apps/shop/releases")
    expect(page.locator("#app-page")).to_be_visible()

    KeysStub(admin_channel).RevokeKey(ledger_pb2.RevokeKeyRequest(id=key.id))

    # The page's event stream ends with "signed-out" at its next check (within seconds).
    expect(page).to_have_url(re.compile(r"/sign-in\?next="), timeout=30_000)
    expect(page.locator(".notice")).to_contain_text("no longer valid")


def test_pages_forbid_framing_and_scripts_from_elsewhere(open_page: Callable[[], Page]) -> None:
    page = open_page()
    response = page.goto("/sign-in")
    assert response is not None
    headers = response.headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self';" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_the_first_page_a_browser_loads_asks_for_nothing_that_is_missing(
    open_page: Callable[[], Page],
) -> None:
    page = open_page()
    missing: list[str] = []
    page.on(
        "response",
        lambda response: missing.append(response.url) if response.status >= 400 else None,
    )

    page.goto("/sign-in")
    page.wait_for_load_state("networkidle")
    favicon = page.request.get("/favicon.ico")

    assert missing == []
    assert (favicon.status, favicon.headers["content-type"]) == (200, "image/x-icon")
    assert favicon.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
