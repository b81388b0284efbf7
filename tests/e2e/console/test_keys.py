"""The Keys page of the console, for admins: listing, creating (token shown once) and
revoking deploy keys, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable

import grpc
import pytest
from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from tests.support.auth import create_key
from tests.support.browser import sign_in


def all_keys(admin_channel: grpc.Channel) -> list[ledger_pb2.Key]:
    """Every key of the ledger, revoked ones too (through the API, as an admin)."""
    request = ledger_pb2.ListKeysRequest(include_revoked=True, page_size=500)
    return list(KeysStub(admin_channel).ListKeys(request).keys)


def key_named(admin_channel: grpc.Channel, name: str) -> ledger_pb2.Key:
    return next(key for key in all_keys(admin_channel) if key.name == name)


def fill_create_form(page: Page, name: str, role: str, apps: str = "") -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Role").select_option(role)
    page.get_by_label("Apps").fill(apps)


def csrf_token_of(page: Page) -> str:
    """The page's CSRF token, taken from its sign-out form (as a forger with a session could)."""
    return page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()


def test_an_admin_creates_a_deployer_key_sees_its_token_once_and_it_signs_in_to_its_app_only(
    admin_page: Page, api: LedgerStub, open_page: Callable[[], Page]
) -> None:
    for name in ("shop", "blog"):
        api.CreateApp(ledger_pb2.CreateAppRequest(name=name))
    admin_page.goto("/")
    admin_page.locator("header").get_by_role("link", name="Keys").click()
    expect(admin_page).to_have_url(re.compile(r"/keys$"))
    fill_create_form(admin_page, "ci", "deployer", "shop")
    with admin_page.expect_response(
        lambda response: response.url.endswith("/keys") and response.request.method == "POST"
    ) as answer:
        admin_page.get_by_role("button", name="Create key").click()

    token = admin_page.locator("#new-token").inner_text().strip()
    assert token.startswith("dl_")
    expect(admin_page.locator("#token-warning")).to_contain_text("shown only this once")
    assert answer.value.headers["cache-control"] == "no-store"
    assert token not in admin_page.url

    page = open_page()
    sign_in(page, token)
    page.goto("/")
    expect(page.locator("header .key")).to_have_text("ci")
    expect(page.locator("tr[data-app]")).to_have_count(1)
    expect(page.locator("tr[data-app=shop]")).to_be_visible()


def test_the_token_never_appears_on_the_keys_list_afterwards(admin_page: Page) -> None:
    admin_page.goto("/keys")
    fill_create_form(admin_page, "auditing", "auditor")
    admin_page.get_by_role("button", name="Create key").click()
    token = admin_page.locator("#new-token").inner_text().strip()
    key_id = admin_page.locator("#created-key").get_attribute("data-key")

    admin_page.goto("/keys?revoked=1")
    expect(admin_page.locator(f"tr[data-key={key_id}]")).to_contain_text("auditing")
    assert token not in admin_page.content()
    assert token[3:] not in admin_page.content()


def test_revoking_a_key_in_the_console_ends_its_session_and_lists_it_as_revoked(
    admin_page: Page,
    api: LedgerStub,
    admin_channel: grpc.Channel,
    open_page: Callable[[], Page],
) -> None:
    api.CreateApp(ledger_pb2.CreateAppRequest(name="shop"))
    key, token = create_key(admin_channel, "laptop", "reader", "shop")
    victim = open_page()
    sign_in(victim, token)
    victim.goto("/")
    expect(victim.locator("tr[data-app=shop]")).to_be_visible()

    admin_page.goto("/keys")
    admin_page.locator(f"tr[data-key={key.id}]").get_by_role("link", name="Revoke").click()
    expect(admin_page.locator("#confirm")).to_contain_text("laptop")
    admin_page.get_by_role("button", name="Revoke key").click()

    expect(admin_page).to_have_url(re.compile(r"/keys\?revoked=1"))
    row = admin_page.locator(f"tr[data-key={key.id}]")
    expect(row.locator(".revoked-at")).to_contain_text("revoked")
    expect(row.locator(".revoked-at")).to_contain_text("admin (")
    expect(row.get_by_role("link", name="Revoke")).to_have_count(0)
    admin_page.goto("/keys")
    expect(admin_page.locator(f"tr[data-key={key.id}]")).to_have_count(0)

    victim.goto("/")
    expect(victim).to_have_url(re.compile(r"/sign-in"))
    expect(victim.locator(".notice")).to_contain_text("no longer valid")


def test_the_last_admin_key_cannot_be_revoked_from_the_console(
    admin_page: Page, admin_channel: grpc.Channel
) -> None:
    admin = key_named(admin_channel, "admin")
    admin_page.goto(f"/keys/{admin.id}/revoke")
    expect(admin_page.locator("#what")).to_contain_text("the key you are signed in with")
    admin_page.get_by_role("button", name="Revoke key").click()
    expect(admin_page.get_by_role("alert")).to_contain_text("is the last admin key")
    assert not key_named(admin_channel, "admin").HasField("revoked_at")
    admin_page.goto("/keys")
    expect(admin_page.locator(f"tr[data-key={admin.id}]")).to_be_visible()


@pytest.mark.parametrize(
    ("role", "apps"), [("deployer", ("shop",)), ("auditor", ()), ("reader", ("shop",))]
)
def test_a_key_that_is_not_an_admin_sees_no_keys_link_and_is_refused_the_keys_page(
    page_as: Callable[..., Page], api: LedgerStub, role: str, apps: tuple[str, ...]
) -> None:
    api.CreateApp(ledger_pb2.CreateAppRequest(name="shop"))
    page = page_as(role, *apps)
    page.goto("/")
    expect(page.locator("header .key")).to_be_visible()
    expect(page.locator("header").get_by_role("link", name="Keys")).to_have_count(0)
    response = page.goto("/keys")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("may not manage keys")


def test_a_forged_create_key_post_from_a_deployer_is_refused_and_creates_nothing(
    page_as: Callable[..., Page], api: LedgerStub, admin_channel: grpc.Channel
) -> None:
    api.CreateApp(ledger_pb2.CreateAppRequest(name="shop"))
    page = page_as("deployer", "shop")
    page.goto("/")
    before = len(all_keys(admin_channel))
    form: dict[str, str | float | bool] = {
        "name": "forged",
        "role": "admin",
        "csrftoken": csrf_token_of(page),
    }
    response = page.request.post("/keys", form=form)
    assert response.status == 403
    assert "may not manage keys" in response.text()
    assert "dl_" not in response.text()
    keys = all_keys(admin_channel)
    assert len(keys) == before
    assert "forged" not in {key.name for key in keys}


def test_a_forged_revoke_post_from_an_auditor_is_refused_and_the_key_stays_valid(
    page_as: Callable[..., Page], admin_channel: grpc.Channel
) -> None:
    target, _ = create_key(admin_channel, "target", "auditor")
    page = page_as("auditor")
    page.goto("/")
    form: dict[str, str | float | bool] = {"csrftoken": csrf_token_of(page)}
    response = page.request.post(f"/keys/{target.id}/revoke", form=form)
    assert response.status == 403
    assert "may not manage keys" in response.text()
    assert not key_named(admin_channel, "target").HasField("revoked_at")


@pytest.mark.parametrize(
    ("name", "role", "apps", "message"),
    [
        ("bad name!", "deployer", "shop", "invalid key name"),
        ("root2", "admin", "shop", "admin keys act on every app: give no apps"),
        ("ci", "reader", "", "a reader key needs at least one app"),
    ],
    ids=["bad-name", "admin-with-apps", "reader-without-apps"],
)
def test_a_key_the_domain_refuses_is_refused_with_its_message_and_nothing_is_created(
    admin_page: Page,
    api: LedgerStub,
    admin_channel: grpc.Channel,
    name: str,
    role: str,
    apps: str,
    message: str,
) -> None:
    api.CreateApp(ledger_pb2.CreateAppRequest(name="shop"))
    before = all_keys(admin_channel)
    admin_page.goto("/keys")
    fill_create_form(admin_page, name, role, apps)
    admin_page.get_by_role("button", name="Create key").click()
    expect(admin_page.get_by_role("alert")).to_contain_text(message)
    expect(admin_page.locator("#new-token")).to_have_count(0)
    assert all_keys(admin_channel) == before


def test_a_comma_and_space_separated_apps_list_gives_a_key_for_each_app(
    admin_page: Page, api: LedgerStub, admin_channel: grpc.Channel
) -> None:
    for name in ("shop", "blog", "wiki"):
        api.CreateApp(ledger_pb2.CreateAppRequest(name=name))
    admin_page.goto("/keys")
    fill_create_form(admin_page, "team", "reader", "shop, blog  wiki")
    admin_page.get_by_role("button", name="Create key").click()
    expect(admin_page.locator("#new-token")).to_be_visible()
    assert list(key_named(admin_channel, "team").apps) == ["blog", "shop", "wiki"]


def test_the_keys_list_is_newest_first_and_pages_to_older_keys(
    admin_page: Page, admin_channel: grpc.Channel
) -> None:
    for number in range(1, 53):
        create_key(admin_channel, f"k{number:02d}", "auditor")
    admin_page.goto("/keys")
    rows = admin_page.locator("tr[data-key]")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("k52")
    expect(rows.last).to_contain_text("k03")

    admin_page.get_by_role("link", name="Older").click()
    expect(admin_page).to_have_url(re.compile(r"/keys\?before=\d+$"))
    expect(rows).to_have_count(3)  # k02, k01 and the first admin key
    expect(rows.first).to_contain_text("k02")
    expect(rows.last).to_contain_text("admin")
    expect(admin_page.get_by_role("link", name="Older")).to_have_count(0)
