"""The fault campaign's Docker engine restarted in the middle of a rollout.

The machine's own engine is never touched: the campaign makes a private one with the
tests' cluster helper (``tests.support.cluster.running_cluster(1)``: a ``dockerd`` of its
own in a network namespace, swept and removed at the end). ``ledgerd`` (``docker``
runtime, SQLite) runs in that namespace too, since the runtime checks health on
``127.0.0.1:$PORT`` where the containers listen; it listens on the node's address, which
the campaign reaches over the cluster's bridge.

Each round makes a release (an env change), promotes it, and once the promotion has
started a new container restarts the engine (SIGTERM, wait, start again). Then: how the
promotion ended (succeeded, or restored to the previous release, and recorded), how long
it took, and the app's containers on the engine that belong to no live release (orphans).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import client as bench_client
from bench.client import Client, sign_in
from bench.report import Row, at_least, at_most
from bench.server import ROOT, Ledgerd, ledgerctl
from ledger_api.v1 import ledger_pb2 as pb

if TYPE_CHECKING:
    from bench.faults import Campaign

APP = "faults"
ENDED = {"succeeded", "rolled_back"}  # a rollout that ends either way has survived
TERMINAL = {*ENDED, "failed", "rollback_failed", "cancelled"}
NONE = at_most(0, "0")
IDLE_WAIT = 10.0  # seconds given to the app's containers to be back after an idle restart
SETTLE_WITHIN = 300.0  # seconds a promotion gets to end after the engine is back
SCALE = 3
MANIFEST = f"""\
services:
  web:
    port: 8000
    scale: {SCALE}
    health: {{path: /health, interval: 1, grace: 30, timeout: 2}}
"""
APP_SH = """\
mkdir -p /www
echo ok > /www/health
exec httpd -f -p "$PORT" -h /www
"""


class NodeLedgerd(Ledgerd):
    """``ledgerd`` in the node's network namespace, listening on the node's address."""

    def __init__(self, address: str, netns: str, engine_url: str) -> None:
        env = {"LEDGER_RUNTIME": "docker", "LEDGER_DOCKER_HOST": engine_url}
        super().__init__(extra_env=env)
        self.command = ["nsenter", f"--net={netns}", *self.command]
        self.address = address

    @property
    def target(self) -> str:
        return f"{self.address}:{self.port}"


def prerequisites() -> str:
    """Why a private engine cannot be made here ("" when it can)."""
    sys.path.insert(0, str(ROOT))
    from tests.support.cluster import missing_prerequisites
    from tests.support.docker import BUSYBOX

    if not Path(BUSYBOX).exists():
        return f"no static busybox at {BUSYBOX}"
    return missing_prerequisites()


async def engine_restart(run: Campaign) -> None:
    reason = prerequisites()
    if reason:
        run.emit(Row("docker", "sqlite", "not run", 0, "", note=reason))
        return
    from tests.support.cluster import running_cluster

    logs = Path(run.args.out).with_name("faults-engine-logs")
    made = running_cluster(1, logs=logs)
    cluster = await asyncio.to_thread(made.__enter__)
    try:
        node = cluster.manager
        srv = NodeLedgerd(node.address, cluster.network.namespaces[0].path, node.url)
        run.servers.append(("faults_engine-sqlite", srv))
        await asyncio.to_thread(srv.start)
        try:
            results = await rollouts(srv, node, 1 if run.args.quick else 3)
        finally:
            await asyncio.to_thread(srv.stop)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(remove_app, node.engine.client())
    finally:
        await asyncio.to_thread(made.__exit__, None, None, None)
    emit(run, results)


async def rollouts(srv: Ledgerd, node: Any, rounds: int) -> list[dict[str, Any]]:
    sign_in(srv.token())
    c = Client(bench_client.channel(srv.target, 3000))
    try:
        await c.ready(30.0)
        await c.create_app(APP)
        release = build(srv)
        first = await c.promote(APP, release)
        done = await ended(c, first.id)
        if done.status != "succeeded":
            cause = f"{done.reason} {done.cause.output[-300:]}".strip()
            raise RuntimeError(f"the first promotion {first.id} ended {done.status}: {cause}")
        idle = await idle_restart(c, node)
        return [idle, *[await one_round(c, node, n) for n in range(1, rounds + 1)]]
    finally:
        await c.channel.close()


def build(srv: Ledgerd) -> str:
    """``ledgerctl build DIR`` of the busybox app (the engine builds it); its release id."""
    from tests.support.docker import write_context

    source = write_context(srv.workdir / "src", APP_SH, {"ledger.yml": MANIFEST})
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_HOST=srv.target, LEDGER_TOKEN=srv.token())
    done = subprocess.run(
        [*ledgerctl(), "--json", "-a", APP, "build", str(source)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ledgerctl build exited {done.returncode}: {done.stderr[-500:]}")
    return str(json.loads(done.stdout)["release_id"])


async def idle_restart(c: Client, node: Any) -> dict[str, Any]:
    """The engine restarted with no rollout in flight: are the app's containers back
    (running) a few seconds after it answers again?"""
    down = await asyncio.to_thread(restart_engine, node)
    await asyncio.sleep(IDLE_WAIT)
    live = {(await c.get_app(APP)).active_release_id}
    orphans = await asyncio.to_thread(orphan_containers, node.engine.client(), live)
    running = await asyncio.to_thread(running_containers, node.engine.client(), live)
    return {"round": 0, "engine_down_s": round(down, 2), "running": running, "orphans": orphans}


def running_containers(client: Any, live: set[str]) -> int:
    rows = client.api.containers(filters={"label": f"ledger.app={APP}"})
    return sum(row["Labels"].get("ledger.release") in live for row in rows)


async def one_round(c: Client, node: Any, n: int) -> dict[str, Any]:
    """A new release promoted; the engine restarted once its first new container started."""
    before = (await c.get_app(APP)).active_release_id
    changed = await c.update_env(APP, {"ROUND": str(n)})
    t0 = time.monotonic()
    promotion = await c.promote(APP, changed.release.id)
    await until_step(c, promotion.id, "container_started")
    restart_at = time.monotonic() - t0
    down = await asyncio.to_thread(restart_engine, node)
    end = await ended(c, promotion.id)
    total = time.monotonic() - t0
    settled = await c.get_app(APP)
    live = {settled.active_release_id}
    orphans = await asyncio.to_thread(orphan_containers, node.engine.client(), live)
    expected = changed.release.id if end.status == "succeeded" else before
    return {
        "round": n,
        "status": end.status,
        "active_is_expected": settled.active_release_id == expected,
        "restart_after_s": round(restart_at, 2),
        "engine_down_s": round(down, 2),
        "promotion_s": round(total, 2),
        "orphans": orphans,
        "live": settled.active_release_id,
        "steps": [s.kind for s in end.steps],
        "engine_lost": sorted({s.message for s in end.steps if s.kind == "engine_lost"}),
        "reason": end.reason,
    }


async def ended(c: Client, promotion_id: str) -> pb.Promotion:
    """The promotion once it has ended (and the app's views say so)."""
    deadline = time.monotonic() + SETTLE_WITHIN
    request = pb.GetPromotionRequest(app=APP, id=promotion_id)
    while time.monotonic() < deadline:
        promotion: pb.Promotion = await c.stub.GetPromotion(request, metadata=bench_client.METADATA)
        if promotion.status in TERMINAL:
            await c.settle(APP, SETTLE_WITHIN)
            return promotion
        await asyncio.sleep(0.05)
    raise TimeoutError(f"promotion {promotion_id} still running after {SETTLE_WITHIN:g} s")


async def until_step(c: Client, promotion_id: str, kind: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    request = pb.GetPromotionRequest(app=APP, id=promotion_id)
    while time.monotonic() < deadline:
        promotion = await c.stub.GetPromotion(request, metadata=bench_client.METADATA)
        if any(s.kind == kind for s in promotion.steps) or promotion.status in TERMINAL:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"promotion {promotion_id} recorded no {kind} in {within:g} s")


def restart_engine(node: Any) -> float:
    """SIGTERM the private engine, wait for it to exit, start it again; seconds it was
    unavailable."""
    t0 = time.monotonic()
    node.engine.terminate()
    node.engine.wait_stopped(time.monotonic() + 30.0)
    node.engine.start()
    node.engine.wait_ready(time.monotonic() + 60.0)
    return time.monotonic() - t0


def orphan_containers(client: Any, live: set[str]) -> list[str]:
    """The app's containers of a release that is not live, or not running: ``name release
    state`` each."""
    rows = client.api.containers(all=True, filters={"label": f"ledger.app={APP}"})
    return [
        f"{row['Names'][0]} {row['Labels'].get('ledger.release', '?')} {row['State']}"
        for row in rows
        if row["Labels"].get("ledger.release") not in live or row["State"] != "running"
    ]


def remove_app(client: Any) -> None:
    for row in client.api.containers(all=True, filters={"label": f"ledger.app={APP}"}):
        client.api.remove_container(row["Id"], force=True)


def emit(run: Campaign, results: list[dict[str, Any]]) -> None:
    idle, rounds = results[0], results[1:]
    note = f"{IDLE_WAIT:g} s after the engine answers again; left: {idle['orphans']}"
    target = at_least(SCALE, f"{SCALE} of {SCALE}")
    figure = "idle engine restart: live containers running again"
    run.emit(
        Row("docker", "sqlite", figure, idle["running"], "", [(target, idle["running"])], note=note)
    )
    statuses = dict(Counter(r["status"] for r in rounds))
    survived = sum(r["status"] in ENDED and r["active_is_expected"] for r in rounds)
    note = f"{statuses}; engine restarted {[r['restart_after_s'] for r in rounds]} s in"
    figure = "rollouts ended succeeded or restored"
    target = at_least(len(rounds), f"{len(rounds)} of {len(rounds)}")
    run.emit(
        Row(
            "docker",
            "sqlite",
            figure,
            survived,
            "",
            [(target, survived)],
            note=note,
            detail={"rounds": results},
        )
    )
    left = rounds[-1]["orphans"]
    live = rounds[-1]["live"]
    orphans = [row for row in left if row.split()[1] != live]
    note = "the app's containers of a release that is not live, after the last rollout"
    run.emit(
        Row(
            "docker",
            "sqlite",
            "orphan containers",
            len(orphans),
            "",
            [(NONE, len(orphans))],
            note=note,
        )
    )
    down_replicas = len(left) - len(orphans)
    note = "the live release's containers not running after the last rollout"
    run.emit(
        Row(
            "docker",
            "sqlite",
            "live replicas down",
            down_replicas,
            "",
            [(NONE, down_replicas)],
            note=note,
        )
    )
    down = [r["engine_down_s"] for r in results]
    run.emit(Row("docker", "sqlite", "engine restart (down to answering), max", max(down), "s"))
    took = sorted(r["promotion_s"] for r in rounds)
    note = f"promote to ended, with the restart; each: {took}"
    run.emit(
        Row("docker", "sqlite", "rollout with an engine restart, max", took[-1], "s", note=note)
    )
