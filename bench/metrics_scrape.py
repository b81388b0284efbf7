"""Time a ``/metrics`` scrape on a ledger of APPS apps with PROMOTIONS promotions each.

    python -m bench.metrics_scrape DATA_DIR [--apps 100] [--promotions 100] [--scrapes 20]

Fills ``DATA_DIR`` (once: a second run only scrapes) through the use cases ``ledgerd``
runs, with the ``record`` runtime: per round, a build from an image ref and a promotion of
every app, all promotions of a round in flight at once. Then renders the registry
``/metrics`` serves (the delivery totals read from the views, the status, the process
collectors) ``--scrapes`` times and prints the median and the slowest, with the size of
the answer, its number of series and the median time of the delivery totals' SQL alone.
Set ``LEDGER_DATABASE_URL`` to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from ledger.commands import CreateApp, CreateBuild, PromoteRelease
from ledger.domain import Meta
from ledger.domain.promotion import PromotionStatus
from ledger.errors import NotFound
from server.bootstrap import Container, bootstrap
from server.infra.settings import Settings

WAIT_SECONDS = 60.0


def fill(c: Container, apps: int, promotions: int) -> None:
    names = [f"app{n:03d}" for n in range(apps)]
    try:
        c.ledger.app(names[-1])
        return  # filled by an earlier run
    except NotFound:
        pass
    meta = Meta(actor="bench@metrics")
    for name in names:
        c.service.create_app(CreateApp(name=name), meta)
    for round_ in range(promotions):
        started = []
        for name in names:
            c.builds.create_from_image(CreateBuild(app=name, image=f"{name}:{round_}"), meta)
            started.append((name, c.service.promote(PromoteRelease(app=name), meta).promotion_id))
        for name, promotion_id in started:
            settle(c, name, promotion_id)
        if round_ % 10 == 9:
            print(f"round {round_ + 1}/{promotions}", file=sys.stderr)


def settle(c: Container, app: str, promotion_id: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not PromotionStatus(c.ledger.promotion(app, promotion_id).status).terminal:
        if time.monotonic() > deadline:
            raise TimeoutError(f"promotion {promotion_id} of {app} did not settle")
        time.sleep(0.002)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--promotions", type=int, default=100)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args(argv)
    settings = Settings(
        data_dir=args.data_dir, database_url=os.environ.get("LEDGER_DATABASE_URL", "")
    )
    container = bootstrap(settings)
    try:
        container.start()
        began = time.perf_counter()
        fill(container, args.apps, args.promotions)
        container.worker.wait_for(container.ledger.head(), WAIT_SECONDS)
        print(f"filled in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        times, body = [], b""
        for _ in range(args.scrapes):
            started = time.perf_counter()
            body = container.metrics.render()
            times.append(time.perf_counter() - started)
        queries = []
        for _ in range(args.scrapes):
            started = time.perf_counter()
            container.views.delivery_totals()
            queries.append(time.perf_counter() - started)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        print(
            f"{len({app for app, _ in container.views.delivery_totals().promotions})} apps; "
            f"head {container.ledger.head()}; scrape median {statistics.median(times) * 1000:.1f}"
            f" ms, slowest {max(times) * 1000:.1f} ms over {len(times)}; {len(body)} bytes,"
            f" {series} series; of which the SQL of the delivery totals: median"
            f" {statistics.median(queries) * 1000:.1f} ms"
        )
    finally:
        container.close()


if __name__ == "__main__":
    main()
