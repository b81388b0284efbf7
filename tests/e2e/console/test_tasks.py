"""The Tasks tab (where the app's tasks run), in a real browser: on the machine's
Docker Engine after a rollout of two replicas, and on the record runtime, which runs
nothing."""

from __future__ import annotations

import re
from pathlib import Path

import docker
import pytest
from playwright.sync_api import Page, expect

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.builds import upload
from tests.support.console import shop
from tests.support.docker import HTTP_APP, write_context

MANIFEST = """\
services:
  web:
    port: 8000
    scale: 2
    health: {path: /health, grace: 3, interval: 0.2, timeout: 1}
"""


@pytest.mark.docker
def test_the_tasks_tab_shows_each_replica_with_its_node_state_and_release(
    docker_page: Page,
    docker_api: LedgerStub,
    docker_app: str,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    docker_api.CreateApp(pb.CreateAppRequest(name=docker_app))
    source = write_context(tmp_path / "src", HTTP_APP, {"ledger.yml": MANIFEST})
    docker_api.CreateBuild(upload(docker_app, source))
    docker_page.goto(f"/apps/{docker_app}/releases")
    docker_page.locator("#releases tr[data-version='1']").get_by_role(
        "link", name="Promote v1"
    ).click()
    docker_page.get_by_role("button", name="Promote v1").click()
    expect(docker_page.locator("#promotion-status")).to_have_text("succeeded")
    release = docker_api.GetApp(pb.GetAppRequest(name=docker_app)).active_release_id

    docker_page.locator("nav.tabs").get_by_role("link", name="Tasks").click()

    expect(docker_page).to_have_url(re.compile(rf"/apps/{docker_app}/tasks$"))
    rows = docker_page.locator("#tasks tr[data-task]")
    expect(rows).to_have_count(2)
    host = docker_client.info()["Name"]
    for n, row in enumerate(rows.all(), start=1):
        expect(row).to_have_attribute("data-task", f"web.{n}")
        expect(row).to_have_attribute("data-release", release)
        expect(row.locator(".node")).to_have_text(host)
        expect(row.locator(".badge.ok")).to_have_text("running")
        expect(row).to_contain_text(f"v1 {release}")


def test_the_tasks_tab_says_nothing_runs_on_the_record_runtime(
    admin_page: Page, api: LedgerStub
) -> None:
    shop(api, releases=1)

    admin_page.goto("/apps/shop/tasks")

    expect(admin_page.locator("nav.tabs a[aria-current=page]")).to_have_text("Tasks")
    expect(admin_page.locator("#no-tasks")).to_contain_text("Nothing runs for this app")
    expect(admin_page.locator("#tasks")).to_have_count(0)
