"""The Workflows tab of the console, in a real browser against a real ledgerd (record
runtime): creating a workflow (its secret shown once), what a reader may see and do, the
paused-promotion banner and resuming, a job's page with its failed build step, and the
same pages with JavaScript off."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.browser import TIMEOUT_MS, sign_in
from tests.support.console import create_workflow, git_origin, job_ended, set_env, settle, shop
from tests.support.ledgerd import InProcessLedgerd
from tests.support.live import (
    assert_fragments_only,
    assert_nothing_fetched_before_the_next_event,
    assert_times_relative,
    newest_position,
    open_live,
)

REPOSITORY = "https://git.example/acme/shop.git"
JOB_URL = re.compile(r"/jobs/J\w+$")


def csrf_token_of(page: Page) -> str:
    """The page's CSRF token, taken from its sign-out form (as a forger with a session could)."""
    return page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()


def fill_new_workflow(page: Page, name: str, apps: str, before_promote: str = "") -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Repository", exact=True).fill(REPOSITORY)
    page.get_by_label("Apps", exact=True).fill(apps)
    page.get_by_label("By hand").check()
    page.locator("textarea[name=before_promote]").fill(before_promote)
    page.locator("textarea[name=review_env]").fill("REVIEW_TOKEN=very-secret-value")


@pytest.fixture
def no_script_page(browser: Browser, console_ledgerd: InProcessLedgerd) -> Iterator[Page]:
    """A page of the console with JavaScript off, signed in as the admin."""
    context = browser.new_context(base_url=console_ledgerd.console_url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, console_ledgerd.token)
    yield page
    context.close()


def test_a_new_workflow_shows_its_secret_once_and_never_on_its_page(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    admin_page.goto("/")
    admin_page.locator("header").get_by_role("link", name="Workflows").click()
    admin_page.get_by_role("link", name="New workflow").click()
    expect(admin_page).to_have_url(re.compile(r"/workflows/new$"))

    fill_new_workflow(admin_page, "shop-main", "shop", before_promote="migrate")
    admin_page.get_by_role("button", name="Create workflow").click()
    expect(admin_page.get_by_role("alert")).to_contain_text("SERVICE: COMMAND")
    expect(admin_page.get_by_label("Repository", exact=True)).to_have_value(REPOSITORY)  # kept
    assert not api.ListWorkflows(pb.ListWorkflowsRequest()).workflows

    admin_page.locator("textarea[name=before_promote]").fill("web: rake db:migrate")
    with admin_page.expect_response(
        lambda response: response.url.endswith("/workflows") and response.request.method == "POST"
    ) as answer:
        admin_page.get_by_role("button", name="Create workflow").click()
    secret = admin_page.locator("#webhook-secret").inner_text().strip()
    assert len(secret) >= 32
    expect(admin_page.locator("#secret-warning")).to_contain_text("it is not shown again")
    expect(admin_page.locator("#webhook-url")).to_contain_text("/hooks/shop-main")
    assert answer.value.headers["cache-control"] == "no-store"
    assert secret not in admin_page.url

    admin_page.get_by_role("link", name="Go to the workflow").click()
    expect(admin_page).to_have_url(re.compile(r"/workflows/shop-main$"))
    expect(admin_page.locator("#workflow-promote")).to_contain_text("by hand")
    expect(admin_page.locator("#workflow-review-env")).to_have_text("REVIEW_TOKEN")
    expect(admin_page.locator("#workflow-settings")).to_contain_text("web: rake db:migrate")
    expect(admin_page.locator("#no-jobs")).to_be_visible()
    content = admin_page.content()
    assert secret not in content and "very-secret-value" not in content
    admin_page.goto("/workflows")
    expect(admin_page.locator("tr[data-workflow=shop-main] .repository")).to_contain_text(
        f"{REPOSITORY}@main"
    )
    assert secret not in admin_page.content()
    workflow = api.GetWorkflow(pb.GetWorkflowRequest(name="shop-main"))
    assert list(workflow.settings.before_promote) == ["web: rake db:migrate"]


def test_a_reader_sees_the_workflows_of_its_apps_but_cannot_manage_or_run_them(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    for app in ("shop", "blog"):
        api.CreateApp(pb.CreateAppRequest(name=app))
        create_workflow(api, f"{app}-main", REPOSITORY, app)
    page = page_as("reader", "shop")
    page.goto("/workflows")
    expect(page.locator("tr[data-workflow]")).to_have_count(1)
    expect(page.locator("tr[data-workflow=shop-main]")).to_be_visible()
    expect(page.get_by_role("link", name="New workflow")).to_have_count(0)

    page.get_by_role("link", name="shop-main").click()
    expect(page.locator("#workflow-apps")).to_have_text("shop")
    for name in ("Run now", "Rotate secret"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)

    for refused in ("/workflows/blog-main", "/workflows/new"):
        response = page.goto(refused)
        assert response is not None and response.status == 403, refused
    page.goto("/workflows/shop-main")
    form: dict[str, str | float | bool] = {"csrftoken": csrf_token_of(page)}
    for action in ("rotate-secret", "run", "delete"):
        posted = page.request.post(f"/workflows/shop-main/{action}", form=form)
        assert posted.status == 403, action
        assert "may not" in posted.text()
    assert api.GetWorkflow(pb.GetWorkflowRequest(name="shop-main")).name == "shop-main"
    assert not api.ListJobs(pb.ListJobsRequest(workflow="shop-main")).jobs


def test_a_paused_app_shows_the_banner_and_resume_clears_it(
    admin_page: Page, page_as: Callable[..., Page], api: LedgerStub
) -> None:
    v1, _v2, _v3 = shop(api)
    create_workflow(api, "shop-main", REPOSITORY, "shop")
    rollback = api.RollbackRelease(pb.RollbackReleaseRequest(app="shop", release_id=v1))
    settle(api, "shop", rollback.promotion.id)

    reader = page_as("reader", "shop")
    reader.goto("/apps/shop/releases")
    expect(reader.locator("#paused-banner")).to_contain_text("rolled back to v1")
    expect(reader.locator("#paused-banner").get_by_role("button")).to_have_count(0)

    admin_page.goto("/workflows")
    expect(admin_page.locator("tr[data-workflow=shop-main] .paused-badge")).to_be_visible()
    admin_page.goto("/apps/shop/env")
    banner = admin_page.locator("#paused-banner")
    expect(banner).to_contain_text("Automatic promotion by workflow shop-main is paused:")
    expect(banner).to_contain_text("rolled back to v1")
    admin_page.goto("/workflows/shop-main")
    expect(admin_page.locator(".paused[data-app=shop]")).to_contain_text("rolled back to v1")

    admin_page.goto("/apps/shop/env")
    banner.get_by_role("button", name="Resume automatic promotion").click()
    expect(admin_page).to_have_url(re.compile(r"/apps/shop/env$"))
    expect(admin_page.locator("#paused-banner")).to_have_count(0)
    assert not api.GetWorkflow(pb.GetWorkflowRequest(name="shop-main")).paused
    reader.reload()
    expect(reader.locator("#paused-banner")).to_have_count(0)


def test_a_job_page_shows_its_failed_build_step_and_cause_and_reruns_it(
    admin_page: Page, api: LedgerStub, tmp_path: Path
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    url, sha = git_origin(tmp_path / "git", "Add the shop\n\nWith a body.", {"ledger.yml": ""})
    create_workflow(api, "shop-main", url, "shop")
    admin_page.goto("/workflows/shop-main")
    expect(admin_page.locator("#no-jobs")).to_be_visible()
    by_api = api.RunWorkflow(pb.RunWorkflowRequest(name="shop-main")).id
    row = admin_page.locator(f"#jobs tr[data-job={by_api}]")  # live: no reload
    expect(row).to_have_attribute("data-status", "failed")
    admin_page.get_by_role("button", name="Run now").click()
    expect(admin_page).to_have_url(JOB_URL)
    first = admin_page.url.rsplit("/", 1)[-1]

    # The page follows the job (record runtime: the build fails) without a reload.
    expect(admin_page.locator("#job-status")).to_have_text("failed")
    steps = admin_page.locator("#job-steps tr[data-step]")
    expect(steps.nth(0)).to_have_attribute("data-step", "fetch")
    expect(steps.nth(0)).to_have_attribute("data-status", "succeeded")
    build = admin_page.locator("tr[data-step=build][data-app=shop]")
    expect(build).to_have_attribute("data-status", "failed")
    expect(build.locator("pre")).to_contain_text("record runtime builds nothing")
    expect(build.locator("a.build")).to_have_attribute("href", re.compile(r"/apps/shop/builds/B"))
    expect(admin_page.locator("#job-cause")).to_contain_text("failed")
    expect(admin_page.locator("#job-trigger")).to_contain_text(f"manual {sha[:7]} by admin")
    expect(steps.nth(0).locator("pre")).to_have_text(f"{sha[:12]} Add the shop")

    admin_page.get_by_role("button", name="Re-run").click()
    expect(admin_page).to_have_url(JOB_URL)
    second = admin_page.url.rsplit("/", 1)[-1]
    assert second != first
    expect(admin_page.locator("#job-rerun-of")).to_have_text(first)
    job_ended(api, second)
    admin_page.goto("/workflows/shop-main")
    rows = admin_page.locator("#jobs tr[data-job]")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-job", second)
    expect(rows.first.locator(".trigger")).to_contain_text(f"manual {sha[:7]} by admin")
    expect(rows.first.locator(".badge")).to_have_text("failed")


@pytest.mark.parametrize(
    ("path", "paused", "regions", "times"),
    [  # the list shows a workflow's latest job's time: it has none yet
        ("/workflows", "tr[data-workflow=shop-main] .paused-badge", {"workflows-table"}, 0),
        ("/workflows/shop-main", ".paused[data-app=shop]", {"workflow-paused", "workflow-jobs"}, 2),
    ],
)
def test_a_workflow_page_fetches_only_its_live_regions_and_nothing_when_its_stream_opens(
    admin_page: Page, api: LedgerStub, path: str, paused: str, regions: set[str], times: int
) -> None:
    v1, _v2, _v3 = shop(api)
    create_workflow(api, "shop-main", REPOSITORY, "shop")
    asked = open_live(admin_page, path)
    assert "?since=" in (admin_page.locator("[sse-connect]").get_attribute("sse-connect") or "")
    head = newest_position(api)

    rollback = api.RollbackRelease(pb.RollbackReleaseRequest(app="shop", release_id=v1))
    settle(api, "shop", rollback.promotion.id)

    expect(admin_page.locator(paused)).to_be_visible()
    assert_nothing_fetched_before_the_next_event(admin_page, head)
    assert_fragments_only(asked, regions)
    assert assert_times_relative(admin_page) == times


def test_a_job_page_fetches_only_its_card_live_and_nothing_when_its_stream_opens(
    admin_page: Page, api: LedgerStub, tmp_path: Path
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    url, _sha = git_origin(tmp_path / "git", "Add the shop", {"ledger.yml": ""})
    create_workflow(api, "shop-main", url, "shop")
    job = job_ended(api, api.RunWorkflow(pb.RunWorkflowRequest(name="shop-main")).id)
    asked = open_live(admin_page, f"/jobs/{job.id}")
    head = newest_position(api)

    with admin_page.expect_response(lambda r: r.request.headers.get("hx-target") == "job"):
        set_env(api, "shop", A="1")  # an event of the job's app

    assert_nothing_fetched_before_the_next_event(admin_page, head)
    assert_fragments_only(asked, {"job"})
    assert assert_times_relative(admin_page) >= 3  # queued, started, ended


def test_the_workflow_pages_work_without_javascript(
    no_script_page: Page, api: LedgerStub, tmp_path: Path
) -> None:
    page = no_script_page
    v1, _v2 = shop(api, releases=2)
    url, _sha = git_origin(tmp_path / "git", "First", {"ledger.yml": ""})
    page.goto("/workflows/new")
    page.get_by_label("Name", exact=True).fill("shop-main")
    page.get_by_label("Repository", exact=True).fill(url)
    page.get_by_label("Apps", exact=True).fill("shop")
    page.get_by_role("button", name="Create workflow").click()
    first_secret = page.locator("#webhook-secret").inner_text().strip()

    page.goto("/workflows/shop-main")
    page.get_by_role("button", name="Rotate secret").click()
    expect(page.locator("#workflow-secret h1")).to_contain_text("rotated")
    assert page.locator("#webhook-secret").inner_text().strip() not in ("", first_secret)

    page.goto("/workflows/shop-main")
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(JOB_URL)
    job_ended(api, page.url.rsplit("/", 1)[-1])
    page.reload()
    expect(page.locator("#job-status")).to_have_text("failed")

    rollback = api.RollbackRelease(pb.RollbackReleaseRequest(app="shop", release_id=v1))
    settle(api, "shop", rollback.promotion.id)
    page.goto("/workflows/shop-main")
    paused = page.locator(".paused[data-app=shop]")
    paused.get_by_role("button", name="Resume automatic promotion").click()
    expect(page).to_have_url(re.compile(r"/workflows/shop-main$"))
    expect(page.locator(".paused")).to_have_count(0)

    page.get_by_role("link", name="Delete").click()
    expect(page.locator("#what")).to_contain_text("stay in the history")
    page.get_by_role("button", name="Delete workflow").click()
    expect(page).to_have_url(re.compile(r"/workflows$"))
    expect(page.locator("#no-workflows")).to_be_visible()
    assert not api.ListWorkflows(pb.ListWorkflowsRequest()).workflows
