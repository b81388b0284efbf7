"""The Environment tab in a real browser: masked values, revealing, editing as text and
key by key with optimistic concurrency, and the history; results checked over gRPC."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, Response, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.console import active_now, image_build, promote

IMAGE = "registry.example/shop:1"
SECRET = "s3cr3t-hunter2"
CHANGED_MEANWHILE = (
    "The environment changed since you opened it (now version 2): review and apply again."
)


def make_app(api: LedgerStub, env: dict[str, str], name: str = "shop") -> None:
    """An app whose env holds ``env`` (version 1), with no release yet."""
    api.CreateApp(pb.CreateAppRequest(name=name))
    api.UpdateEnv(pb.UpdateEnvRequest(app=name, set=env, description="first values"))


def env_of(api: LedgerStub, app: str = "shop") -> tuple[int, dict[str, str]]:
    env = api.GetEnv(pb.GetEnvRequest(app=app, reveal=True))
    return env.version, dict(env.values)


def submitted(page: Page, click: Callable[[], None]) -> Response:
    """The response to the form POST that ``click`` sends."""
    with page.expect_response(lambda response: response.request.method == "POST") as info:
        click()
    return info.value


def test_applying_a_text_edit_creates_a_release_with_the_new_value_and_promotes_it(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    first = image_build(api, "shop", IMAGE).release_id
    promote(api, "shop", first)
    admin_page.goto("/apps/shop/env")

    admin_page.get_by_role("link", name="Reveal values").click()
    admin_page.get_by_label("Environment (KEY=VALUE lines)").fill("COLOUR=green\nSIZE=L\n")
    admin_page.get_by_label("Description of the text edit").fill("greener")
    admin_page.get_by_role("button", name="Apply Changes").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/promotions/P\w+$"))
    assert env_of(api) == (2, {"COLOUR": "green", "SIZE": "L"})
    latest = api.GetApp(pb.GetAppRequest(name="shop")).latest_release_id
    release = api.GetRelease(pb.GetReleaseRequest(app="shop", id=latest))
    assert (release.env_version, release.reason, release.parent_id) == (2, "env", first)
    assert release.description == "greener"
    active_now(api, "shop", latest)
    assert api.GetApp(pb.GetAppRequest(name="shop")).active_release_id == latest


def test_saving_the_env_of_an_app_without_a_release_records_it_and_shows_the_new_version(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    admin_page.goto("/apps/shop/env?reveal=1")
    expect(admin_page.get_by_role("button", name="Apply Changes")).to_have_count(0)

    admin_page.get_by_label("Environment (KEY=VALUE lines)").fill("COLOUR=green")
    admin_page.get_by_role("button", name="Save").click()

    expect(admin_page.locator("#env-notice")).to_have_text("Saved: the env is now at version 2.")
    expect(admin_page.locator("#env-version")).to_have_text("2")
    assert env_of(api) == (2, {"COLOUR": "green"})
    assert api.GetApp(pb.GetAppRequest(name="shop")).release_count == 0


def test_the_second_of_two_people_editing_at_once_is_refused_and_keeps_their_text(
    admin_page: Page, page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    promote(api, "shop", image_build(api, "shop", IMAGE).release_id)
    other = page_as("deployer", "shop")
    for page in (admin_page, other):
        page.goto("/apps/shop/env?reveal=1")

    admin_page.get_by_label("Environment (KEY=VALUE lines)").fill("COLOUR=green")
    admin_page.get_by_role("button", name="Apply Changes").click()
    expect(admin_page).to_have_url(re.compile(r"/promotions/P\w+$"))
    active_now(api, "shop", api.GetApp(pb.GetAppRequest(name="shop")).latest_release_id)
    theirs = "COLOUR=red\nEXTRA=1"
    other.get_by_label("Environment (KEY=VALUE lines)").fill(theirs)
    response = submitted(other, other.get_by_role("button", name="Apply Changes").click)

    assert response.status == 409
    expect(other.get_by_role("alert")).to_have_text(CHANGED_MEANWHILE)
    expect(other.get_by_label("Environment (KEY=VALUE lines)")).to_have_value(theirs)
    assert env_of(api) == (2, {"COLOUR": "green"})


def test_a_reader_sees_the_keys_masked_with_no_reveal_link_and_no_edit_forms(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": SECRET})
    page = page_as("reader", "shop")
    page.goto("/apps/shop/env")

    expect(page.locator("tr[data-key=COLOUR] .value")).to_have_text("***")
    expect(page.get_by_role("link", name="Reveal values")).to_have_count(0)
    expect(page.locator("form[action^='/apps/shop/env/']")).to_have_count(0)
    expect(page.locator("textarea")).to_have_count(0)


def test_a_readers_hand_made_reveal_is_refused_with_403(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": SECRET})
    page = page_as("reader", "shop")

    response = page.goto("/apps/shop/env?reveal=1")

    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("may not see the env values of app shop")
    assert SECRET not in page.content()


def test_a_deployer_of_the_app_reveals_the_values(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": SECRET})
    page = page_as("deployer", "shop")
    page.goto("/apps/shop/env")

    page.get_by_role("link", name="Reveal values").click()

    expect(page).to_have_url(re.compile(r"/apps/shop/env\?reveal=1$"))
    expect(page.get_by_label("Value of COLOUR")).to_have_value(SECRET)
    expect(page.get_by_label("Environment (KEY=VALUE lines)")).to_have_value(f"COLOUR={SECRET}")


def test_the_masked_page_holds_no_value_in_its_html(admin_page: Page, api: LedgerStub) -> None:
    make_app(api, {"COLOUR": SECRET, "TOKEN": "tok-" + SECRET[::-1]})

    response = admin_page.goto("/apps/shop/env")

    assert response is not None and response.status == 200
    expect(admin_page.locator("tr[data-key]")).to_have_count(2)
    html = response.text()
    assert SECRET not in html
    assert SECRET[::-1] not in html
    assert SECRET not in admin_page.content()


def test_a_malformed_line_is_refused_with_its_line_number_and_nothing_changes(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    admin_page.goto("/apps/shop/env?reveal=1")
    text = "# colours\nCOLOUR=green\n\nno equals sign here\nSIZE=L"

    admin_page.get_by_label("Environment (KEY=VALUE lines)").fill(text)
    response = submitted(admin_page, admin_page.get_by_role("button", name="Save").click)

    assert response.status == 400
    expect(admin_page.get_by_role("alert")).to_have_text("line 4 is not KEY=VALUE")
    expect(admin_page.get_by_label("Environment (KEY=VALUE lines)")).to_have_value(text)
    assert "no equals sign here" not in admin_page.get_by_role("alert").inner_text()
    assert env_of(api) == (1, {"COLOUR": "blue"})


def test_a_key_given_twice_is_refused_with_both_line_numbers_and_nothing_changes(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    admin_page.goto("/apps/shop/env?reveal=1")

    admin_page.get_by_label("Environment (KEY=VALUE lines)").fill("COLOUR=red\nCOLOUR=green")
    admin_page.get_by_role("button", name="Save").click()

    expect(admin_page.get_by_role("alert")).to_have_text("line 2: COLOUR is already set on line 1")
    assert env_of(api) == (1, {"COLOUR": "blue"})


def test_setting_one_key_in_its_row_changes_only_that_key(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue", "SIZE": "M"})
    admin_page.goto("/apps/shop/env?reveal=1")
    row = admin_page.locator(".env-row[data-key=SIZE]")

    row.get_by_label("Value of SIZE").fill("XL")
    row.get_by_label("Why change SIZE").fill("bigger")
    row.get_by_role("button", name="Set").click()

    expect(admin_page.locator("#env-notice")).to_contain_text("version 2")
    assert env_of(api) == (2, {"COLOUR": "blue", "SIZE": "XL"})
    expect(admin_page.locator("tr[data-version='2'] .changed")).to_have_text("SIZE")
    expect(admin_page.locator("tr[data-version='2']")).to_contain_text("bigger")


def test_removing_one_key_leaves_the_others(admin_page: Page, api: LedgerStub) -> None:
    make_app(api, {"COLOUR": "blue", "SIZE": "M"})
    admin_page.goto("/apps/shop/env?reveal=1")

    admin_page.locator(".env-row[data-key=COLOUR]").get_by_role("button", name="Remove").click()

    expect(admin_page.locator(".env-row[data-key=COLOUR]")).to_have_count(0)
    assert env_of(api) == (2, {"SIZE": "M"})
    expect(admin_page.locator("tr[data-version='2'] .removed")).to_have_text("COLOUR")


def test_adding_a_key_sets_it(admin_page: Page, api: LedgerStub) -> None:
    make_app(api, {"COLOUR": "blue"})
    admin_page.goto("/apps/shop/env?reveal=1")
    form = admin_page.locator("#env-add")

    form.get_by_label("Key").fill("REGION")
    form.get_by_label("Value").fill("eu-west")
    form.get_by_role("button", name="Add key").click()

    expect(admin_page.get_by_label("Value of REGION")).to_have_value("eu-west")
    assert env_of(api) == (2, {"COLOUR": "blue", "REGION": "eu-west"})


def test_a_forged_env_post_from_a_reader_is_refused_with_403_and_appends_nothing(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    page = page_as("reader", "shop")
    page.goto("/apps/shop/env")
    token = page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()
    before = api.ListEvents(pb.ListEventsRequest(page_size=500)).events

    response = page.request.post(
        "/apps/shop/env/text",
        form={"csrftoken": token, "text": "COLOUR=evil", "expected_version": "1"},
    )

    assert response.status == 403
    assert "may not change the env of app shop" in response.text()
    assert api.ListEvents(pb.ListEventsRequest(page_size=500)).events == before
    assert env_of(api) == (1, {"COLOUR": "blue"})


def test_the_history_lists_each_version_with_its_keys_but_no_values(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": SECRET, "SIZE": "M"})
    api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"COLOUR": "x" + SECRET}, unset=["SIZE"]))

    admin_page.goto("/apps/shop/env")

    rows = admin_page.locator("#env-history-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-version", "2")
    expect(rows.nth(0).locator(".changed")).to_have_text("COLOUR")
    expect(rows.nth(0).locator(".removed")).to_have_text("SIZE")
    expect(rows.nth(1).locator(".added")).to_have_text("COLOUR, SIZE")
    expect(rows.nth(1)).to_contain_text("first values")
    expect(rows.nth(1)).to_contain_text("admin")
    assert SECRET not in admin_page.content()
