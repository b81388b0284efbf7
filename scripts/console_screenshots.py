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

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.settings import Settings
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.browser import chromium, chromium_path, new_page, sign_in
from tests.support.ledgerd import InProcessLedgerd

DOCS = Path(__file__).resolve().parent.parent / "docs"
IN_FLIGHT = {"pending", "running", "rolling_back"}


def build(api: LedgerStub, app: str, image: str, description: str) -> pb.Build:
    def requests() -> Iterator[pb.CreateBuildRequest]:
        yield pb.CreateBuildRequest(
            metadata=pb.BuildMetadata(app=app, image=image, description=description)
        )

    return api.CreateBuild(requests())


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
    promotion = promote(api, "shop", second.release_id, "ship checkout v2")
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
        "promotion": promotion.id,
        "rollback": rollback.promotion.id,
        "from": env_release.id,
        "to": second.release_id,
        "build": second.id,
    }


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
                "promotion": f"/apps/shop/promotions/{ids['rollback']}",
                "env": "/apps/shop/env",
                "builds": f"/apps/shop/builds/{ids['build']}",
                "history": "/apps/shop/history",
                "diff": f"/apps/shop/diff?from={ids['from']}&to={ids['to']}",
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
                context.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
