"""The Builds tab in a real browser: the list, building an image (and deploying it) from the
console, a build's page, and its log followed live while a real Docker build runs."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from playwright.sync_api import Browser, Page, expect

from cli.source import pack
from ledger.settings import Settings
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.browser import new_page, sign_in
from tests.support.docker import HTTP_APP, docker_app, docker_client, write_context
from tests.support.ledgerd import InProcessLedgerd

__all__ = ["docker_app", "docker_client"]  # fixtures of tests/support/docker.py

IMAGE = "registry.example/shop:1"


def image_build(api: LedgerStub, image: str = IMAGE, app: str = "shop") -> pb.Build:
    metadata = pb.BuildMetadata(app=app, image=image, description=f"build of {image}")
    build: pb.Build = api.CreateBuild(iter([pb.CreateBuildRequest(metadata=metadata)]))
    return build


def active_now(api: LedgerStub, release_id: str, app: str = "shop") -> None:
    """Wait until ``release_id`` is the app's active release (woken by the event stream)."""
    watch = api.WatchEvents(pb.WatchEventsRequest(app=app), timeout=15)
    try:
        for _ in watch:
            if api.GetApp(pb.GetAppRequest(name=app)).active_release_id == release_id:
                return
        raise AssertionError(f"{release_id} never became active")
    finally:
        watch.cancel()


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
    active_now(api, build.release_id)
    admin_page.goto("/apps/shop/builds")
    row = admin_page.locator(f"tr[data-build={build.id}]")
    expect(row.locator(".release")).to_have_text(build.release_id)
    expect(admin_page.locator("#active-release")).to_have_text(build.release_id)


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
    first = image_build(api, "registry.example/shop:1")
    admin_page.goto("/apps/shop/builds")
    expect(admin_page.locator("tr[data-build]")).to_have_count(1)

    second = image_build(api, "registry.example/shop:2")

    rows = admin_page.locator("tr[data-build]")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-build", second.id)
    expect(rows.nth(1)).to_have_attribute("data-build", first.id)
    expect(rows.nth(0).locator(".source")).to_have_text("registry.example/shop:2")
    expect(rows.nth(0)).to_contain_text("build of registry.example/shop:2")
    expect(rows.nth(0).locator("[data-status]")).to_have_text("succeeded")


def test_the_builds_tab_pages_back_through_older_builds(admin_page: Page, api: LedgerStub) -> None:
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    oldest = image_build(api, "registry.example/shop:0")
    for number in range(1, 51):
        image_build(api, f"registry.example/shop:{number}")
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
    build = image_build(api)
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


@pytest.fixture
def docker_ledgerd(
    tmp_path: Path, browser: Browser, docker_client: docker.DockerClient
) -> Iterator[InProcessLedgerd]:
    """A ledgerd building on the machine's Docker Engine, serving the console."""
    settings = Settings(
        data_dir=tmp_path / "ledger",
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
        runtime="docker",
    )
    with InProcessLedgerd(settings) as server:
        yield server


@pytest.fixture
def docker_page(browser: Browser, docker_ledgerd: InProcessLedgerd) -> Iterator[Page]:
    context, page = new_page(browser, docker_ledgerd.console_url)
    sign_in(page, docker_ledgerd.token)
    yield page
    context.close()


def upload(app: str, directory: Path) -> Iterator[pb.CreateBuildRequest]:
    tarball = io.BytesIO()
    packed = pack(directory, tarball)
    metadata = pb.BuildMetadata(app=app, size=packed.size, source_digest=packed.digest)
    yield pb.CreateBuildRequest(metadata=metadata)
    while chunk := tarball.read(64 * 1024):
        yield pb.CreateBuildRequest(chunk=chunk)


def stored_log(client: LedgerStub, app: str, build_id: str) -> str:
    request = pb.StreamBuildLogsRequest(app=app, id=build_id, no_follow=True)
    return b"".join(chunk.data for chunk in client.StreamBuildLogs(request, timeout=10)).decode()


@pytest.mark.docker
def test_the_log_viewer_of_a_running_build_follows_new_lines_as_they_are_written(
    docker_ledgerd: InProcessLedgerd, docker_page: Page, docker_app: str, tmp_path: Path
) -> None:
    files = {"nonce": uuid.uuid4().hex, "Dockerfile": DOCKERFILE}
    directory = write_context(tmp_path / "src", HTTP_APP, files)
    with docker_ledgerd.channel() as channel:
        client = LedgerStub(channel)
        client.CreateApp(pb.CreateAppRequest(name=docker_app))
        build = client.CreateBuild(upload(docker_app, directory))
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
        assert log.text_content() == stored_log(client, docker_app, build.id)
