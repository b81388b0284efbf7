"""Screenshots of the web console's main pages, for the README (``make screenshots``).

Starts a throw-away ``ledgerd`` (SQLite in a temporary directory, record runtime), tells a
short story through the gRPC API (apps, builds, env changes, promotions, a rollback),
then opens the console in headless Chromium, signs in with the admin key and saves one
PNG per page under ``docs/``. Run from the repository root with the project's venv.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import grpc
from playwright.sync_api import Browser, Page

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from server.infra.settings import Settings
from tests.support.browser import chromium, chromium_path, new_page, sign_in
from tests.support.builds import upload
from tests.support.docker import EXITING_APP, HTTP_APP, remove_app, write_context
from tests.support.ledgerd import InProcessLedgerd

DOCS = Path(__file__).resolve().parent.parent / "docs"
IN_FLIGHT = {"pending", "running", "rolling_back"}
MANIFEST = """\
services:
  web:
    port: 8000
    scale: 3
    health: {path: /health, grace: 20, interval: 0.2, timeout: 1}
"""


def build(api: LedgerStub, app: str, image: str, description: str) -> pb.Build:
    def requests() -> Iterator[pb.CreateBuildRequest]:
        yield pb.CreateBuildRequest(
            metadata=pb.BuildMetadata(app=app, image=image, description=description)
        )

    created: pb.Build = api.CreateBuild(requests())
    return created


def settled(api: LedgerStub, promotion: pb.Promotion) -> pb.Promotion:
    """The promotion once it has ended (the runtime runs it in the background)."""
    deadline = time.monotonic() + 30
    while promotion.status in IN_FLIGHT and time.monotonic() < deadline:
        time.sleep(0.05)
        promotion = api.GetPromotion(pb.GetPromotionRequest(id=promotion.id))
    return promotion


def promote(api: LedgerStub, app: str, release_id: str, description: str) -> pb.Promotion:
    request = pb.PromoteReleaseRequest(app=app, release_id=release_id, description=description)
    return settled(api, api.PromoteRelease(request))


def story(channel: grpc.Channel) -> dict[str, str]:
    """Arrange a ledger worth looking at; returns ids the pages are opened with."""
    api = LedgerStub(channel)
    for name in ("shop", "blog", "billing"):
        api.CreateApp(pb.CreateAppRequest(name=name))
    keys = KeysStub(channel)
    keys.CreateKey(pb.CreateKeyRequest(name="ci-shop", role="deployer", apps=["shop"]))
    keys.CreateKey(pb.CreateKeyRequest(name="audit", role="auditor"))
    first = build(api, "shop", "registry.local/shop:1.0.0", "first cut")
    promote(api, "shop", first.release_id, "launch")
    changed = api.UpdateEnv(
        pb.UpdateEnvRequest(
            app="shop",
            set={"DATABASE_URL": "postgres://db/shop", "PAYMENT_KEY": "sk_live_123"},
            promote=True,
            description="connect the database",
        )
    )
    settled(api, changed.promotion)
    second = build(api, "shop", "registry.local/shop:1.1.0", "checkout v2")
    promote(api, "shop", second.release_id, "ship checkout v2")
    releases = api.ListReleases(pb.ListReleasesRequest(app="shop")).releases
    env_release = next(r for r in releases if r.reason == "env")
    rollback = api.RollbackRelease(
        pb.RollbackReleaseRequest(
            app="shop", release_id=env_release.id, description="checkout v2 errors"
        )
    )
    settled(api, rollback.promotion)
    build(api, "shop", "registry.local/shop:1.2.0", "checkout v2, fixed")
    blog = build(api, "blog", "registry.local/blog:3.4.1", "spring theme")
    promote(api, "blog", blog.release_id, "")
    return {
        "from": env_release.id,
        "to": second.release_id,
        "first": first.release_id,
    }


def editor_and_actions(page: Page) -> None:
    """The env editor with one key opened, the preview of its change (cancelled: nothing
    is applied), and the History with its rollback line opened."""
    page.goto("/apps/shop/env?edit=PAYMENT_KEY")
    page.screenshot(path=DOCS / "console-env-edit.png")
    page.get_by_label("Value of PAYMENT_KEY").fill("sk_live_456")
    page.get_by_label("Why change PAYMENT_KEY").fill("rotate the payment key")
    page.locator("tr.editing").get_by_role("button", name="Preview").click()
    page.wait_for_load_state("load")
    page.screenshot(path=DOCS / "console-env-preview.png")
    page.get_by_role("link", name="Cancel").click()
    page.goto("/apps/shop/history")
    page.locator("#actions > li[data-kind=rollback] > details > summary").click()
    page.screenshot(path=DOCS / "console-history-action.png", full_page=True)
    for name in ("env-edit", "env-preview", "history-action"):
        print(f"docs/console-{name}.png")


def rollouts(scratch: Path, browser: Browser) -> None:
    """On the Docker runtime: a rolling update of three containers, then one that fails
    and is rolled back; screenshots of both promotions' pages."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException:
        print("no Docker engine: the rollout screenshots are skipped", file=sys.stderr)
        return
    settings = Settings(
        data_dir=scratch / "docker-ledger",
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
        runtime="docker",
    )
    try:
        with InProcessLedgerd(settings) as ledgerd, ledgerd.channel() as channel:
            api = LedgerStub(channel)
            api.CreateApp(pb.CreateAppRequest(name="web"))
            promotions, builds = {}, {}
            for name, script in (("v1", HTTP_APP), ("v2", HTTP_APP), ("broken", EXITING_APP)):
                directory = write_context(scratch / name, script, {"ledger.yml": MANIFEST})
                built = finished(api, api.CreateBuild(upload("web", directory, description=name)))
                builds[name] = built.id
                promotions[name] = promote(api, "web", built.release_id, f"roll out {name}")
            context, page = new_page(browser, ledgerd.console_url)
            sign_in(page, ledgerd.token)
            shots = {
                "rollout": f"/apps/web/promotions/{promotions['v2'].id}",
                "rollout-failed": f"/apps/web/promotions/{promotions['broken'].id}",
                "builds": f"/apps/web/builds/{builds['v2']}",
            }
            for shot, url in shots.items():
                page.goto(url)
                page.screenshot(path=DOCS / f"console-{shot}.png", full_page=True)
                print(f"docs/console-{shot}.png")
            context.close()
    finally:
        remove_app(client, "web")


def finished(api: LedgerStub, build: pb.Build) -> pb.Build:
    """The build once it has ended (Docker builds run in the background)."""
    deadline = time.monotonic() + 60
    while build.status not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        build = api.GetBuild(pb.GetBuildRequest(id=build.id))
    return build


def main() -> int:
    path = chromium_path()
    if path is None:
        print("no Chromium: run scripts/install-system-deps.sh first", file=sys.stderr)
        return 1
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            data_dir=Path(scratch) / "ledger",
            listen="127.0.0.1:0",
            console_listen="127.0.0.1:0",
        )
        with InProcessLedgerd(settings) as ledgerd, ledgerd.channel() as channel:
            ids = story(channel)
            pages = {
                "sign-in": "/sign-in",
                "apps": "/",
                "releases": "/apps/shop/releases",
                "env": "/apps/shop/env",
                "history": "/apps/shop/history",
                "diff": f"/apps/shop/diff?from={ids['from']}&to={ids['to']}",
                # What a rollback will change, before its button says "Roll back to v1".
                "confirm-rollback": f"/apps/shop/releases/{ids['first']}/rollback",
                "release": f"/apps/shop/releases/{ids['to']}",
                "keys": "/keys",
                "metrics": "/apps/shop/metrics?days=7",
            }
            with chromium(path) as browser:
                context, page = new_page(browser, ledgerd.console_url)
                page.goto(pages.pop("sign-in"))
                page.screenshot(path=DOCS / "console-sign-in.png")
                sign_in(page, ledgerd.token)
                for name, url in pages.items():
                    page.goto(url)
                    page.wait_for_load_state("load")
                    # Long pages (the history) are cut at the window: a README picture.
                    page.screenshot(path=DOCS / f"console-{name}.png")
                    print(f"docs/console-{name}.png")
                editor_and_actions(page)
                context.close()
                rollouts(Path(scratch), browser)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
