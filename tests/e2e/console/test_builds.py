"""The Builds tab in a real browser: the list, building an image (and deploying it) from the
console, a build's page, and its log followed live while a real Docker build runs."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.builds import stored_log, upload
from tests.support.console import active_now, image_build
from tests.support.docker import HTTP_APP, write_context

IMAGE = "registry.example/shop:1"


def test_a_build_of_an_image_made_in_the_console_with_promote_ticked_ends_with_its_release_active(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    admin_page.goto("/apps/shop/builds")

    admin_page.get_by_label("Image").fill(IMAGE)
    admin_page.get_by_label("Description").fill("first deploy")
    admin_page.get_by_label("Promote when built (deploy)").check()
    admin_page.get_by_role("button", name="Build").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/promotions/P\w+$"))
    (build,) = api.ListBuilds(pb.ListBuildsRequest(app="shop")).builds
    assert (build.image, build.status, build.description) == (IMAGE, "succeeded", "first deploy")
    active_now(api, "shop", build.release_id)
    admin_page.goto("/apps/shop/builds")
    row = admin_page.locator(f"tr[data-build={build.id}]")
    expect(row.locator(".release")).to_have_text(build.release_id)
    expect(admin_page.locator("#active-release")).to_contain_text(build.release_id)


def test_a_build_of_an_image_without_promote_opens_its_page_and_leaves_its_release_idle(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    admin_page.goto("/apps/shop/builds")

    admin_page.get_by_label("Image").fill(IMAGE)
    admin_page.get_by_role("button", name="Build").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/builds/B\w+$"))
    build_id = admin_page.url.rsplit("/", 1)[-1]
    expect(admin_page.locator("#build-status")).to_have_text("succeeded")
    expect(admin_page.locator("#build-log")).to_have_text(
        f"build {build_id} of image {IMAGE} succeeded\n"
    )
    expect(admin_page.locator("#log-follow")).to_have_attribute("data-following", "false")
    release_id = admin_page.locator("#build-release").inner_text()
    assert api.GetApp(pb.GetAppRequest(name="shop")).latest_release_id == release_id
    assert api.GetApp(pb.GetAppRequest(name="shop")).active_release_id == ""


def test_the_builds_tab_lists_builds_newest_first_and_shows_new_ones_live(
    admin_page: Page, api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    first = image_build(api, "shop", "registry.example/shop:1", "build of registry.example/shop:1")
    admin_page.goto("/apps/shop/builds")
    expect(admin_page.locator("tr[data-build]")).to_have_count(1)

    second = image_build(api, "shop", "registry.example/shop:2", "build of registry.example/shop:2")

    rows = admin_page.locator("tr[data-build]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-build", second.id)
    expect(rows.nth(1)).to_have_attribute("data-build", first.id)
    expect(rows.nth(0).locator(".source")).to_have_text("registry.example/shop:2")
    expect(rows.nth(0)).to_contain_text("build of registry.example/shop:2")
    expect(rows.nth(0).locator("[data-status]")).to_have_text("succeeded")


def test_the_builds_tab_pages_back_through_older_builds(admin_page: Page, api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    oldest = image_build(api, "shop", "registry.example/shop:0")
    for number in range(1, 51):
        image_build(api, "shop", f"registry.example/shop:{number}")
    admin_page.goto("/apps/shop/builds")
    expect(admin_page.locator("tr[data-build]")).to_have_count(50)
    expect(admin_page.locator(f"tr[data-build={oldest.id}]")).to_have_count(0)

    admin_page.get_by_role("link", name="Older builds").click()

    expect(admin_page).to_have_url(re.compile(r"/apps/shop/builds\?before=\d+$"))
    expect(admin_page.locator("tr[data-build]")).to_have_count(1)
    expect(admin_page.locator(f"tr[data-build={oldest.id}]")).to_be_visible()


def test_a_reader_sees_the_builds_but_no_new_build_form_and_a_forged_build_is_refused(
    page_as: Callable[..., Page], api: LedgerStub
) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    build = image_build(api, "shop", IMAGE)
    page = page_as("reader", "shop")
    page.goto("/apps/shop/builds")
    expect(page.locator(f"tr[data-build={build.id}]")).to_be_visible()
    expect(page.locator("#new-build")).to_have_count(0)
    token = page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()

    response = page.request.post("/apps/shop/builds", form={"csrftoken": token, "image": IMAGE})

    assert response.status == 403
    assert "may not build app shop" in response.text()
    assert len(api.ListBuilds(pb.ListBuildsRequest(app="shop")).builds) == 1


# --- a real build on the Docker Engine ---

# Prints, sleeps, prints again: each printed line differs from the command docker echoes
# as the step (the shell computes part of it), so a line seen in the log was printed.
PRINTS_TWICE = [
    "/bin/busybox",
    "sh",
    "-c",
    'echo "first: $((6*7)) <b>not bold</b>"; /bin/busybox sleep 3; echo "second: $((6*8))"',
]
DOCKERFILE = f"""\
FROM scratch
COPY busybox /bin/busybox
COPY nonce /nonce
RUN {json.dumps(PRINTS_TWICE)}
CMD ["/bin/busybox", "sleep", "1000"]
"""


@pytest.mark.docker
def test_the_log_viewer_of_a_running_build_follows_new_lines_as_they_are_written(
    docker_api: LedgerStub, docker_page: Page, docker_app: str, tmp_path: Path
) -> None:
    files = {"nonce": uuid.uuid4().hex, "Dockerfile": DOCKERFILE}
    directory = write_context(tmp_path / "src", HTTP_APP, files)
    docker_api.CreateApp(pb.CreateAppRequest(name=docker_app))
    build = docker_api.CreateBuild(upload(docker_app, directory))
    assert build.status == "running"

    response = docker_page.goto(f"/apps/{docker_app}/builds/{build.id}")
    assert response is not None and "second: 48" not in response.text()
    docker_page.evaluate("window.sameDocument = true")
    log = docker_page.locator("#build-log")
    expect(docker_page.locator("#log-follow")).to_have_attribute("data-following", "true")
    expect(log).to_contain_text("first: 42 <b>not bold</b>")
    expect(log.locator("b")).to_have_count(0)  # text, never markup
    expect(log).to_contain_text("second: 48")
    expect(log).to_contain_text(f"Successfully tagged {docker_app}:{build.id}")
    expect(docker_page.locator("#build-status")).to_have_text("succeeded")
    expect(docker_page.locator("#log-follow")).to_have_attribute("data-following", "false")
    expect(docker_page.locator("#build-release")).to_be_visible()

    assert docker_page.evaluate("window.sameDocument") is True  # followed, not reloaded
    assert log.text_content() == stored_log(docker_api, docker_app, build.id)
