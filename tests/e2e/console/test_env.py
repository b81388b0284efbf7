"""The Environment tab in a real browser: one editor (an Edit per key, Remove, Add key, the
whole env as text), every change previewed (keys added, changed, removed) before "Apply
Changes", a stale preview refused, masked values, and the history; results checked over
gRPC."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Browser, Page, Response, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.browser import sign_in
from tests.support.console import active_now, image_build, promote
from tests.support.ledgerd import InProcessLedgerd
from tests.support.live import (
    assert_fragments_only,
    assert_nothing_fetched_before_the_next_event,
    assert_times_relative,
    newest_position,
    open_live,
)

IMAGE = "registry.example/shop:1"
SECRET = "s3cr3t-hunter2"
OTHER_SECRET = "tok-9f2c71e4-other"
CHANGED_MEANWHILE = (
    "The environment changed since you opened it (now version 2): review and apply again."
)


def make_app(api: LedgerStub, env: dict[str, str], name: str = "shop") -> None:
    """An app whose env holds ``env`` (version 1), with no release yet."""
    api.CreateApp(pb.CreateAppRequest(name=name))
    api.UpdateEnv(pb.UpdateEnvRequest(app=name, set=env, description="first values"))


def deployed(api: LedgerStub) -> str:
    """A release of app shop made active; returns its id."""
    release = image_build(api, "shop", IMAGE).release_id
    promote(api, "shop", release)
    return release


def env_of(api: LedgerStub, app: str = "shop") -> tuple[int, dict[str, str]]:
    env = api.GetEnv(pb.GetEnvRequest(app=app, reveal=True))
    return env.version, dict(env.values)


def event_count(api: LedgerStub) -> int:
    return len(api.ListEvents(pb.ListEventsRequest(page_size=500)).events)


def submitted(page: Page, click: Callable[[], None]) -> Response:
    """The response to the form POST that ``click`` sends."""
    with page.expect_response(lambda response: response.request.method == "POST") as info:
        click()
    return info.value


def preview_text(page: Page, text: str, description: str = "") -> None:
    """Open the text mode, type ``text`` and ask for the preview."""
    page.goto("/apps/shop/env")
    page.get_by_role("link", name="Edit as text").click()
    page.get_by_label("Environment (KEY=VALUE lines)").fill(text)
    if description:
        page.get_by_label("Description of the text edit").fill(description)
    page.get_by_role("button", name="Preview").click()


def diff_rows(page: Page) -> list[tuple[str, str]]:
    """The preview's rows: (change, key) each (once the preview page is shown)."""
    expect(page.get_by_role("heading", name=re.compile("Review the change"))).to_be_visible()
    found: list[tuple[str, str]] = page.locator("#env-diff-preview tbody tr").evaluate_all(
        "rows => rows.map(row => [row.dataset.change, row.dataset.key])"
    )
    return [tuple(row) for row in found]  # type: ignore[misc]


# -- one key at a time ------------------------------------------------------------------------


def test_editing_one_secret_shows_only_that_value_and_keeps_the_others_masked(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": SECRET, "TOKEN": OTHER_SECRET})
    admin_page.goto("/apps/shop/env")

    admin_page.get_by_label("Edit TOKEN").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/env\?edit=TOKEN$"))
    expect(admin_page.get_by_label("Value of TOKEN")).to_have_value(OTHER_SECRET)
    expect(admin_page.locator("tr[data-key=COLOUR] .value")).to_have_text("***")
    assert SECRET not in admin_page.content()


def test_a_key_edited_goes_through_the_preview_and_changes_only_that_key(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue", "SIZE": SECRET})
    admin_page.goto("/apps/shop/env?edit=COLOUR")
    row = admin_page.locator("tr[data-key=COLOUR]")
    row.get_by_label("Value of COLOUR").fill("green")
    row.get_by_label("Why change COLOUR").fill("greener")

    row.get_by_role("button", name="Preview").click()

    assert diff_rows(admin_page) == [("changed", "COLOUR")]
    expect(admin_page.locator("#apply-means")).to_contain_text("only records the change")
    assert SECRET not in admin_page.content()
    assert env_of(api) == (1, {"COLOUR": "blue", "SIZE": SECRET})
    admin_page.get_by_role("button", name="Apply Changes").click()
    expect(admin_page.locator("#env-notice")).to_have_text("Saved: the env is now at version 2.")
    assert env_of(api) == (2, {"COLOUR": "green", "SIZE": SECRET})
    expect(admin_page.locator("tr[data-version='2'] .changed")).to_have_text("COLOUR")
    expect(admin_page.locator("tr[data-version='2']")).to_contain_text("greener")


def test_removing_a_key_is_previewed_then_applied_leaving_the_others(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue", "SIZE": "M"})
    admin_page.goto("/apps/shop/env")

    admin_page.get_by_role("button", name="Remove COLOUR").click()

    assert diff_rows(admin_page) == [("removed", "COLOUR")]
    assert env_of(api) == (1, {"COLOUR": "blue", "SIZE": "M"})
    admin_page.get_by_role("button", name="Apply Changes").click()
    expect(admin_page.locator("tr[data-key=COLOUR]")).to_have_count(0)
    assert env_of(api) == (2, {"SIZE": "M"})
    expect(admin_page.locator("tr[data-version='2'] .removed")).to_have_text("COLOUR")


def test_adding_a_key_is_previewed_then_applied(admin_page: Page, api: LedgerStub) -> None:
    make_app(api, {"COLOUR": "blue"})
    admin_page.goto("/apps/shop/env")
    form = admin_page.locator("#env-add")

    form.get_by_label("Key").fill("REGION")
    form.get_by_label("Value").fill("eu-west")
    form.get_by_role("button", name="Preview").click()

    assert diff_rows(admin_page) == [("added", "REGION")]
    expect(admin_page.locator("#env-diff-preview tr[data-key=REGION] .value")).to_have_text(
        "eu-west"
    )
    admin_page.get_by_role("button", name="Apply Changes").click()
    assert env_of(api) == (2, {"COLOUR": "blue", "REGION": "eu-west"})


# -- the preview ----------------------------------------------------------------------------


def test_the_preview_shows_keys_added_changed_and_removed_and_changes_nothing(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue", "OLD": "x", "SIZE": "M"})
    before = event_count(api)

    preview_text(admin_page, "COLOUR=green\nSIZE=M\nREGION=eu")

    expect(admin_page.get_by_role("button", name="Apply Changes")).to_be_visible()
    assert diff_rows(admin_page) == [("added", "REGION"), ("changed", "COLOUR"), ("removed", "OLD")]
    assert env_of(api) == (1, {"COLOUR": "blue", "OLD": "x", "SIZE": "M"})
    assert event_count(api) == before


def test_applying_with_an_active_release_deploys_the_new_env(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    first = deployed(api)

    preview_text(admin_page, "COLOUR=green\nSIZE=L", description="greener")
    expect(admin_page.locator("#apply-means")).to_contain_text("deploys")
    admin_page.get_by_role("button", name="Apply Changes").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/promotions/P\w+$"))
    assert env_of(api) == (2, {"COLOUR": "green", "SIZE": "L"})
    latest = api.GetApp(pb.GetAppRequest(name="shop")).latest_release_id
    release = api.GetRelease(pb.GetReleaseRequest(app="shop", id=latest))
    assert (release.env_version, release.reason, release.parent_id) == (2, "env", first)
    assert release.description == "greener"
    active_now(api, "shop", latest)


def test_cancelling_a_preview_returns_to_the_editor_with_nothing_changed(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    deployed(api)
    before = event_count(api)
    preview_text(admin_page, "COLOUR=green")

    admin_page.get_by_role("link", name="Cancel").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/env$"))
    expect(admin_page.locator("#env-version")).to_have_text("1")
    assert env_of(api) == (1, {"COLOUR": "blue"})
    assert event_count(api) == before


def test_a_stale_preview_is_refused_and_changes_nothing(admin_page: Page, api: LedgerStub) -> None:
    make_app(api, {"COLOUR": "blue"})
    preview_text(admin_page, "COLOUR=green\nEXTRA=1")
    api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"COLOUR": "red"}))  # meanwhile

    response = submitted(admin_page, admin_page.get_by_role("button", name="Apply Changes").click)

    assert response.status == 409
    expect(admin_page.get_by_role("alert")).to_have_text(CHANGED_MEANWHILE)
    expect(admin_page.get_by_label("Environment (KEY=VALUE lines)")).to_have_value(
        "COLOUR=green\nEXTRA=1"
    )
    assert env_of(api) == (2, {"COLOUR": "red"})


def test_the_second_of_two_people_previewing_at_once_is_refused(
    admin_page: Page, page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    other = page_as("deployer", "shop")
    preview_text(admin_page, "COLOUR=green")
    preview_text(other, "COLOUR=red")

    admin_page.get_by_role("button", name="Apply Changes").click()
    expect(admin_page.locator("#env-notice")).to_contain_text("version 2")
    response = submitted(other, other.get_by_role("button", name="Apply Changes").click)

    assert response.status == 409
    expect(other.get_by_role("alert")).to_have_text(CHANGED_MEANWHILE)
    assert env_of(api) == (2, {"COLOUR": "green"})


def test_the_whole_flow_works_without_javascript(
    browser: Browser, console_ledgerd: InProcessLedgerd, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue", "TOKEN": SECRET})
    context = browser.new_context(base_url=console_ledgerd.console_url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, console_ledgerd.token)
        page.goto("/apps/shop/env")
        page.get_by_label("Edit COLOUR").click()
        page.get_by_label("Value of COLOUR").fill("green")
        page.locator("tr[data-key=COLOUR]").get_by_role("button", name="Preview").click()
        page.get_by_role("button", name="Apply Changes").click()

        expect(page.locator("#env-notice")).to_have_text("Saved: the env is now at version 2.")
        assert env_of(api) == (2, {"COLOUR": "green", "TOKEN": SECRET})
    finally:
        context.close()


# -- who sees what ----------------------------------------------------------------------------


def test_a_reader_sees_the_keys_masked_with_no_reveal_link_and_no_edit_forms(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": SECRET})
    page = page_as("reader", "shop")
    page.goto("/apps/shop/env")

    expect(page.locator("tr[data-key=COLOUR] .value")).to_have_text("***")
    expect(page.get_by_role("link", name="Reveal values")).to_have_count(0)
    expect(page.locator("form[action^='/apps/shop/env/']")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit as text")).to_have_count(0)
    expect(page.get_by_label("Edit COLOUR")).to_have_count(0)


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
    expect(page.locator("tr[data-key=COLOUR] .value")).to_have_text(SECRET)
    page.get_by_role("link", name="Edit as text").click()
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
    admin_page.goto("/apps/shop/env?mode=text")
    text = "# colours\nCOLOUR=green\n\nno equals sign here\nSIZE=L"

    admin_page.get_by_label("Environment (KEY=VALUE lines)").fill(text)
    response = submitted(admin_page, admin_page.get_by_role("button", name="Preview").click)

    assert response.status == 400
    expect(admin_page.get_by_role("alert")).to_have_text("line 4 is not KEY=VALUE")
    expect(admin_page.get_by_label("Environment (KEY=VALUE lines)")).to_have_value(text)
    assert "no equals sign here" not in admin_page.get_by_role("alert").inner_text()
    assert env_of(api) == (1, {"COLOUR": "blue"})


def test_a_key_given_twice_is_refused_with_both_line_numbers_and_nothing_changes(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    admin_page.goto("/apps/shop/env?mode=text")

    admin_page.get_by_label("Environment (KEY=VALUE lines)").fill("COLOUR=red\nCOLOUR=green")
    admin_page.get_by_role("button", name="Preview").click()

    expect(admin_page.get_by_role("alert")).to_have_text("line 2: COLOUR is already set on line 1")
    assert env_of(api) == (1, {"COLOUR": "blue"})


def test_a_forged_env_post_from_a_reader_is_refused_with_403_and_appends_nothing(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": "blue"})
    page = page_as("reader", "shop")
    page.goto("/apps/shop/env")
    token = page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()
    before = api.ListEvents(pb.ListEventsRequest(page_size=500)).events

    for step in ("preview", "apply"):
        response = page.request.post(
            f"/apps/shop/env/{step}",
            form={"csrftoken": token, "form": "text", "text": "COLOUR=evil",
                  "expected_version": "1"},
        )  # fmt: skip

        assert response.status == 403
        assert "may not change the env of app shop" in response.text()
    assert api.ListEvents(pb.ListEventsRequest(page_size=500)).events == before
    assert env_of(api) == (1, {"COLOUR": "blue"})


def test_a_readers_hand_made_text_mode_is_refused_with_403(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    make_app(api, {"COLOUR": SECRET})
    page = page_as("reader", "shop")

    response = page.goto("/apps/shop/env?mode=text")

    assert response is not None and response.status == 403
    assert SECRET not in page.content()


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


def test_the_keys_and_history_fetch_only_themselves_live_and_nothing_when_the_stream_opens(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"SIZE": "M"})
    asked = open_live(admin_page, "/apps/shop/env")
    head = newest_position(api)

    api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"COLOUR": "red"}))

    expect(admin_page.locator("#env-version")).to_have_text("2")
    expect(admin_page.locator("#env-history-table tbody tr")).to_have_count(2)
    assert_nothing_fetched_before_the_next_event(admin_page, head)
    assert {"env-view", "env-history"} <= {r.headers.get("hx-target") for r in asked}
    assert_fragments_only(asked, {"env-view", "env-history", "app-header"})


def test_the_stale_warning_of_an_open_editor_fetches_only_itself(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"SIZE": "M"})
    asked = open_live(admin_page, "/apps/shop/env?edit=SIZE")

    api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"SIZE": "L"}))

    expect(admin_page.locator("#env-watch [data-stale]")).to_have_attribute("data-stale", "2")
    expect(admin_page.get_by_label("Value of SIZE")).to_have_value("M")  # the editor stays
    assert "env-watch" in {r.headers.get("hx-target") for r in asked}
    assert_fragments_only(asked, {"env-watch", "env-history", "app-header"})


def test_the_history_times_read_how_long_ago_with_the_exact_utc_time_on_hover(
    admin_page: Page, api: LedgerStub
) -> None:
    make_app(api, {"SIZE": "M"})
    api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"SIZE": "L"}))

    admin_page.goto("/apps/shop/env")

    assert assert_times_relative(admin_page, "#env-history-table time") == 2
