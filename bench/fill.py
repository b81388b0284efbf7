"""Fill a ledger data dir with a mixed log of N events, fast, through the application layer.

    python -m bench.fill DATA_DIR [--events 100000] [--apps 16]

The ``replay`` case fills its log over gRPC (minutes for 100,000 events); this writes the
same kind of ledger in-process, with the use cases ``ledgerd`` runs (``bootstrap`` on a
``Settings`` for ``DATA_DIR``, the ``record`` runtime), so that ``ledgerd projections
rebuild`` can be timed and profiled on a big log again and again (copy the data dir:
a rebuild rewrites its views file). The projection worker is not started: the views stay
empty until a rebuild. The mix: apps, builds from image refs (build, release), env
changes (each a release), promotions (steps, activations), keys, a rack version, and
request records (every command carries a request id).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from ledger.commands import CreateApp, CreateBuild, CreateKey, PromoteRelease, UpdateEnv
from ledger.domain import Meta
from ledger.domain.promotion import PromotionStatus
from ledger.errors import NotFound
from server.bootstrap import Container, bootstrap
from server.infra.settings import Settings

ROUND_PROMOTIONS = 4  # apps promoted per round (their rollouts run in parallel)
WAIT_SECONDS = 60.0


def fill(data_dir: Path, events: int, apps: int) -> int:
    """Append commands until the log holds at least ``events`` events; returns the head."""
    container = bootstrap(Settings(data_dir=data_dir, runtime="record", build_workers=0))
    try:
        return _fill(container, events, apps)
    finally:
        container.close()


def _fill(c: Container, events: int, apps: int) -> int:
    requests = itertools.count()

    def meta() -> Meta:
        return Meta(actor="bench@fill", request_id=f"fill-{time.time_ns()}-{next(requests)}")

    names = [f"fill{n:03d}" for n in range(apps)]
    if _new(c, names[0]):  # (a new ledger's log is not empty: ledgerd's start records)
        c.service.record_rack_version("bench-fill", meta())
        c.keys.create_key(CreateKey(name="fill-admin", role="admin"), meta())
        for name in names:
            c.service.create_app(CreateApp(name=name), meta())
    for round_ in itertools.count():
        head = c.ledger.recorder.max_notification_id() or 0
        if head >= events:
            return head
        for n, name in enumerate(names):
            image = f"registry.local/{name}:{round_}"
            c.builds.create_from_image(CreateBuild(app=name, image=image), meta())
            if n % 3 == round_ % 3:
                values = {"ROUND": str(round_), f"K{n}": "secret-" + str(round_)}
                c.service.update_env(UpdateEnv(app=name, set_values=values), meta())
        promoted = [names[(round_ * ROUND_PROMOTIONS + k) % apps] for k in range(ROUND_PROMOTIONS)]
        ids = [
            (name, c.service.promote(PromoteRelease(app=name), meta()).promotion_id)
            for name in dict.fromkeys(promoted)
        ]
        for name, promotion_id in ids:
            _settle(c, name, promotion_id)
    raise AssertionError("unreachable")


def _new(c: Container, app: str) -> bool:
    """Whether this fill has not created its apps yet."""
    try:
        c.ledger.app(app)
    except NotFound:
        return True
    return False


def _settle(c: Container, app: str, promotion_id: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not PromotionStatus(c.ledger.promotion(app, promotion_id).status).terminal:
        if time.monotonic() > deadline:
            raise TimeoutError(f"promotion {promotion_id} of {app} did not settle")
        time.sleep(0.005)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--apps", type=int, default=16)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    head = fill(args.data_dir, args.events, args.apps)
    seconds = time.perf_counter() - started
    print(f"the log of {args.data_dir} holds {head} events ({seconds:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
