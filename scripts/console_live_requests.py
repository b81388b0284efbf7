"""How many background requests the console's live regions make (docs/console.md).

Starts a throw-away ``ledgerd`` with the screenshots' story (scripts/console_screenshots.py),
opens 17 pages in headless Chromium, each left until its event stream is open, and counts
the requests htmx sends (``HX-Request``) and their bytes; then promotes a release while the
Releases tab is open and counts what it fetches to show it; last, on the Environment and
History tabs, the global History and the Workflows list, what opening the page and then
one env change seen live fetch. Run from the repository root
with the project's venv: ``python scripts/console_live_requests.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, Request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import console_screenshots as story

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.infra.settings import Settings
from tests.support.browser import chromium, chromium_path, new_page, sign_in
from tests.support.ledgerd import InProcessLedgerd

SETTLE_MS = 1000  # a measurement, not a test: let delayed (200 ms) triggers go out

Asked = list[tuple[str, str, int]]  # path, HX-Target, response body bytes


def pages(api: LedgerStub) -> list[str]:
    releases = api.ListReleases(pb.ListReleasesRequest(app="shop")).releases
    promotion = api.ListPromotions(pb.ListPromotionsRequest(app="shop")).promotions[0]
    build = api.ListBuilds(pb.ListBuildsRequest(app="shop")).builds[0]
    shop = [f"/apps/shop/{tab}" for tab in ("releases", "tasks", "builds", "env")]
    shop += [f"/apps/shop/{tab}" for tab in ("promotions", "history")]
    shop += [f"/apps/shop/releases/{releases[0].id}", f"/apps/shop/releases/{releases[-1].id}"]
    shop += [f"/apps/shop/promotions/{promotion.id}", f"/apps/shop/builds/{build.id}"]
    others = [f"/apps/blog/{tab}" for tab in ("releases", "builds", "promotions")]
    return ["/", *shop, *others, "/apps/billing/releases", "/apps/shop/releases", "/"]


def watch(page: Page) -> Asked:
    asked: Asked = []

    def finished(request: Request) -> None:
        if request.headers.get("hx-request"):
            path = request.url.split("/", 3)[-1]
            size = request.sizes()["responseBodySize"]
            asked.append((path, request.headers.get("hx-target", ""), size))

    page.on("requestfinished", finished)
    return asked


def report(what: str, asked: Asked) -> None:
    total = sum(size for _, _, size in asked)
    print(f"{what}: {len(asked)} background requests, {total} bytes")
    for path, target, size in asked:
        print(f"  /{path} [{target}] {size} bytes")


ENV_CHANGE_PAGES = ("/apps/shop/env", "/apps/shop/history", "/history", "/workflows")


def env_changes(page: Page, api: LedgerStub, asked: Asked) -> None:
    """On each of ``ENV_CHANGE_PAGES``: what opening it, then one env change, fetch."""
    for number, url in enumerate(ENV_CHANGE_PAGES):
        asked.clear()
        with page.expect_response(lambda response: "/live" in response.url):
            page.goto(url)
        page.wait_for_timeout(SETTLE_MS)
        report(f"opening {url}", asked)
        asked.clear()
        api.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={f"SEEN_{number}": "1"}))
        page.wait_for_timeout(SETTLE_MS)
        report(f"one env change seen live on {url}", asked)


def main() -> int:
    path = chromium_path()
    if path is None:
        print("no Chromium: run scripts/install-system-deps.sh first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(
            data_dir=Path(scratch) / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
        )
        with InProcessLedgerd(settings) as ledgerd, ledgerd.channel() as channel:
            story.story(channel)
            api = LedgerStub(channel)
            views = pages(api)
            with chromium(path) as browser:
                context, page = new_page(browser, ledgerd.console_url)
                sign_in(page, ledgerd.token)
                asked = watch(page)
                for url in views:
                    with page.expect_response(lambda response: "/live" in response.url):
                        page.goto(url)
                    page.wait_for_timeout(SETTLE_MS)
                report(f"opening {len(views)} pages", asked)
                asked.clear()
                page.goto("/apps/shop/releases")
                page.wait_for_timeout(SETTLE_MS)
                asked.clear()
                newest = api.ListReleases(pb.ListReleasesRequest(app="shop")).releases[0]
                request = pb.PromoteReleaseRequest(app="shop", release_id=newest.id)
                story.settled(api, api.PromoteRelease(request))
                page.wait_for_timeout(SETTLE_MS)
                report("one promotion seen live on the Releases tab", asked)
                env_changes(page, api, asked)
                context.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
