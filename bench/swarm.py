"""Swarm benchmark: a promotion on the swarm runtime against Swarm's own rolling update.

.venv/bin/python bench/swarm.py [--quick] [--rounds N] [--out bench/results/swarm.json]

What is measured, in one run, on the machine's engine made a single-node swarm for the run
(``tests.support.swarm.single_node_swarm``: it joins only an engine in no swarm, and leaves
only a swarm that it or a test session made, once nobody else uses it):

* **ours (swarm)**: a ``ledgerd`` on the ``swarm`` runtime (SQLite, temp dir) with an app of
  one HTTP service ``web``, 3 replicas (static busybox ``httpd``, health checked). It is
  deployed once (``ledgerctl deploy DIR --wait``), then two env changes make two releases
  without promoting them (``VALUE=1``, ``VALUE=2``; ``UpdateEnv``, as ``ledgerctl env
  set`` does). Each round times ``ledgerctl releases promote R --wait`` from process start
  to exit, alternating between the two releases, so each round is a real rolling update
  of 3 tasks. Where that time went is recorded too (``swarm_phases_s``): to the
  promotion's creation (mostly the CLI's start), to its last step (Swarm's update
  ``completed``), to its end, and to the CLI's exit.
* **Swarm's own**: on the same swarm, a plain service with the spec the runtime gave the
  ledger's ``APP-web`` (same image, host networking, health check, init, restart policy,
  update config: parallelism 1, start-first, failure action, monitor), of the ledger's
  labels only its port block's, and ``PORT`` templated on a block of its own. Each round times
  ``docker service update --detach=false --env-add VALUE=n --env-add PORT=…`` from start
  to exit, alternating ``n`` between 1 and 2. ``PORT`` moves to a new free block each
  round as the runtime's does for each new spec: with host networking and start-first, a
  slot's new task runs next to its old one and cannot take the same port. The CLI's
  ``--detach=false`` ends only after its own verification: once it sees every slot's new
  task running it waits the update config's ``monitor`` itself (polling every 200 ms),
  without asking Swarm whether the update completed. So the same update is also timed until the
  service's ``UpdateStatus.State`` is ``completed`` (polled through the SDK every 50 ms,
  from the CLI's start): that is Swarm's own end of the rollout, and the fair yardstick.
* **single engine**: the same app and promotions on a ``ledgerd`` with the ``docker``
  runtime, timed like ours (swarm).

Rounds interleave the three (ours, Swarm's own, single engine), so load from other work on
the machine falls on all of them alike. Every side uses the same health settings
(``HEALTH``, printed); Swarm's update ``monitor`` follows from them (grace + 3 x (interval
+ timeout) + 2 s), and Swarm reports an update ``completed`` one monitor window after its
last task, so both swarm figures include that window.

Why: Swarm does the rolling update for the swarm runtime, and the ledger adds a CLI, a
recorded promotion and its own watch of the service on top. Target: ours (swarm) p50 ≤
Swarm's own p50 (``completed``) + 0.5 s. Nothing here is asserted in tests;
``tests/e2e/test_benchmark_smoke.py`` runs ``--quick`` and fails only on an error or a
missing figure.

Everything created is removed at the end, also on an error, Ctrl-C or SIGTERM: the
services (``ledger-bench-…``), their containers, and the images the two ledgers built.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == HERE:  # run as a script: import as `bench.*`
    sys.path[0] = str(HERE.parent)

import docker  # noqa: E402

from bench import procstat  # noqa: E402
from bench.server import ROOT, Ledgerd, ledgerctl  # noqa: E402
from bench.workflows import serve, summary  # noqa: E402
from ledger_api.v1 import ledger_pb2 as pb  # noqa: E402
from ledger_api.v1.ledger_pb2_grpc import LedgerStub  # noqa: E402
from runtime.docker.engine import Engine  # noqa: E402
from runtime.swarm.ports import BlockAllocator, block_base, port_template  # noqa: E402
from runtime.swarm.services import Services  # noqa: E402
from runtime.swarm.spec import PORTS, service_name  # noqa: E402
from tests.support.auth import channel_to  # noqa: E402
from tests.support.docker import HTTP_APP, remove_app, write_context  # noqa: E402
from tests.support.swarm import single_node_swarm  # noqa: E402

SCALE = 3
# Seconds, for every side. Swarm runs each check as a `docker exec` in the container: at an
# interval of 0.2 s the checks of the six tasks alone kept 2 cores busy, and under that load
# checks overran a 1 s timeout often enough to fail rollouts.
HEALTH = {"grace": 1.0, "interval": 0.5, "timeout": 1.0}
MANIFEST = f"""\
services:
  web:
    port: 8000
    scale: {SCALE}
    health: {{path: /health, grace: {HEALTH["grace"]}, interval: {HEALTH["interval"]}, \
timeout: {HEALTH["timeout"]}}}
"""
VALUES = ("1", "2")  # the two env values the rounds alternate between
WAIT = 300.0  # seconds one step may take before the run gives up
POLL = 0.05  # seconds between two looks at Swarm's update status
BENCH_LABEL = "ledger-bench.run"  # on our own service, with the run's token
TARGET_MARGIN = 0.5  # seconds ours (swarm) may take beyond Swarm's own
TARGET_FIGURE = "ours (swarm) - Swarm's own completed, p50 (s)"


# --- the ledgers -----------------------------------------------------------------------


@dataclass
class LedgerApp:
    """One ``ledgerd`` and one app on it, driven through ``ledgerctl``."""

    server: Ledgerd
    app: str
    releases: list[str] = field(default_factory=list)  # the two releases rounds promote

    def ctl(self, *args: str) -> tuple[float, Any]:
        """Run ``ledgerctl --json -a APP ARGS``; returns (wall seconds, parsed stdout)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env.update(LEDGER_HOST=self.server.target, LEDGER_TOKEN=self.server.token())
        t0 = time.perf_counter()
        done = subprocess.run(
            [*ledgerctl(), "--json", "-a", self.app, *args],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=WAIT, check=False,
        )  # fmt: skip
        secs = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(
                f"ledgerctl {args[0]} on {self.app} exited {done.returncode}: "
                f"{done.stderr.strip()[-800:]}{failed_promotion(done.stdout)}"
            )
        return secs, json.loads(done.stdout) if done.stdout.strip() else None

    def prepare(self, source: Path) -> None:
        """Create the app, deploy ``source`` and make the two releases, each unpromoted
        (none of it timed; what needs no build goes through the API, which saves the
        CLI's start-up)."""
        with channel_to(self.server.target, self.server.token()) as channel:
            api = LedgerStub(channel)
            api.CreateApp(pb.CreateAppRequest(name=self.app))
            _, deployed = self.ctl("deploy", str(source), "--wait")
            if deployed["promotion"]["status"] != "succeeded":
                raise RuntimeError(f"the first deploy of {self.app}: {deployed['promotion']}")
            for value in VALUES:
                request = pb.UpdateEnvRequest(app=self.app, set={"VALUE": value})
                self.releases.append(api.UpdateEnv(request).release.id)

    def promote(self, n: int) -> tuple[float, dict[str, float]]:
        """Round ``n``: ``releases promote R --wait`` of one release or the other; returns
        its seconds and where they went (see ``phases``)."""
        release = self.releases[n % len(self.releases)]
        launched = time.time()
        secs, promotion = self.ctl("releases", "promote", release, "--wait")
        return secs, phases(promotion, launched, launched + secs)


def failed_promotion(stdout: str) -> str:
    """A failed ``--wait``'s promotion as ``ledgerctl --json`` printed it: its status,
    cause and last steps ("" if there is none)."""
    try:
        promotion = json.loads(stdout)
        steps = [f"{s['kind']}: {s['message']}" for s in promotion.get("steps", [])[-8:]]
        cause = json.dumps(promotion.get("cause"))
        return f"\n{promotion['status']}, cause {cause}; last steps:\n" + "\n".join(steps)
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"\n{stdout.strip()[-800:]}"


def phases(promotion: dict[str, Any], launched: float, exited: float) -> dict[str, float]:
    """Where one ``promote --wait`` went, each stretch charged to the point that ends it
    (all on this machine's clock): ``recorded`` (the CLI's start and the call, to the
    promotion's ``created_at``), ``runtime_done`` (to the last step: on swarm, Swarm's
    update ``completed``), ``ended`` (to ``ended_at``) and ``cli_exit`` (the CLI's
    ``--wait`` seeing it, and its exit)."""
    points = [("recorded", parse_time(promotion["created_at"]))]
    if promotion.get("steps"):
        points.append(("runtime_done", parse_time(promotion["steps"][-1]["time"])))
    points += [("ended", parse_time(promotion["ended_at"])), ("cli_exit", exited)]
    spent: dict[str, float] = {}
    previous = launched
    for name, moment in points:
        spent[name], previous = round(moment - previous, 3), moment
    return spent


def parse_time(text: str) -> float:
    """An RFC 3339 time of ``ledgerctl --json`` as a ``time.time()`` value."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def start_ledger(stack: contextlib.ExitStack, workdir: Path, runtime: str, app: str) -> LedgerApp:
    """A ``ledgerd`` on ``runtime`` (stopped when ``stack`` unwinds) with ``app`` deployed
    and its two releases made."""
    server = serve(workdir / runtime, runtime)
    stack.callback(server.stop)
    ledger = LedgerApp(server, app)
    ledger.prepare(write_context(workdir / f"{runtime}-src", HTTP_APP, {"ledger.yml": MANIFEST}))
    return ledger


# --- Swarm's own service ---------------------------------------------------------------


@dataclass
class OwnService:
    """A plain Swarm service with the ledger's spec, updated by the docker CLI."""

    client: docker.DockerClient
    name: str
    used: Services  # whose ``used_blocks`` (the ledger's view) a new port block avoids
    blocks: BlockAllocator = field(default_factory=BlockAllocator)
    service_id: str = ""
    monitor_s: float = 0.0

    def create(self, template: str, token: str) -> None:
        """Create it from the spec of the ledger's service ``template``: the same task
        template and configs, ``PORT`` on a block of its own, and of the ledger's labels
        only ``ledger.ports`` on its tasks (the block, so that ledgers sharing the engine
        leave it alone); then wait until its tasks run (not timed)."""
        spec: dict[str, Any] = self.client.api.inspect_service(template)["Spec"]  # type: ignore[no-untyped-call]
        task = spec["TaskTemplate"]
        container = task["ContainerSpec"]
        env = [e for e in container.get("Env") or [] if not e.startswith("PORT=")]
        with self.blocks.reserve(self.used.used_blocks, SCALE) as block:
            container["Env"] = [*env, f"PORT={port_template(block)}"]
            container["Labels"] = {PORTS: str(block_base(block)), BENCH_LABEL: token}
            created = self.client.api.create_service(  # type: ignore[no-untyped-call]
                task,
                name=self.name,
                labels={BENCH_LABEL: token},
                mode=spec["Mode"],
                update_config=spec["UpdateConfig"],
                rollback_config=spec.get("RollbackConfig"),
            )
        self.service_id = str(created["ID"])
        self.monitor_s = spec["UpdateConfig"].get("Monitor", 0) / 1e9
        self.wait_running()

    def wait_running(self) -> None:
        """Until ``SCALE`` tasks of the service run."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            tasks = self.client.api.tasks(filters={"service": self.service_id})  # type: ignore[no-untyped-call]
            if sum(t["Status"]["State"] == "running" for t in tasks) >= SCALE:
                return
            time.sleep(POLL)
        raise TimeoutError(f"the tasks of {self.name} never ran")

    def update_status(self) -> dict[str, Any]:
        status: dict[str, Any] = (
            self.client.api.inspect_service(self.service_id).get("UpdateStatus") or {}  # type: ignore[no-untyped-call]
        )
        return status

    def update(self, n: int) -> tuple[float, float]:
        """Round ``n``: ``docker service update --detach=false`` with ``VALUE`` alternating
        and ``PORT`` on a new block; returns the seconds until the CLI exits and until
        Swarm says ``completed``, both from the CLI's start."""
        before = self.update_status().get("StartedAt")
        with self.blocks.reserve(self.used.used_blocks, SCALE) as block:
            command = [
                "docker", "service", "update", "--detach=false",
                "--env-add", f"VALUE={VALUES[n % len(VALUES)]}",
                "--env-add", f"PORT={port_template(block)}",
                "--container-label-add", f"{PORTS}={block_base(block)}",
                self.name,
            ]  # fmt: skip
            cli = Timed(command)
            try:
                completed = self.wait_completed(before, cli)
                exited, code, output = cli.result()
            finally:
                cli.kill()
        if code != 0:
            raise RuntimeError(f"docker service update exited {code}: {output[-800:]}")
        return exited, completed

    def wait_completed(self, before: str | None, cli: Timed) -> float:
        """Seconds since ``cli`` started until the service's update status is ``completed``
        for an update started after ``before`` (the previous update's start, None if
        none); an error as soon as ``cli`` fails."""
        t0 = cli.t0
        while time.perf_counter() - t0 < WAIT:
            if cli.failed():
                _, code, output = cli.result()
                raise RuntimeError(f"docker service update exited {code}: {output[-800:]}")
            status = self.update_status()
            state = status.get("State")
            if state == "completed" and status.get("StartedAt") != before:
                return time.perf_counter() - t0
            if state in ("paused", "rollback_started", "rollback_paused", "rollback_completed"):
                raise RuntimeError(f"the update of {self.name} {state}: {status.get('Message')}")
            time.sleep(POLL)
        raise TimeoutError(f"the update of {self.name} did not complete in {WAIT:.0f} s")


class Timed:
    """A command started now whose exit a thread times, while the caller polls Swarm."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.output = b""
        self.exited = 0.0
        self.waiter = threading.Thread(target=self._wait, daemon=True)
        self.waiter.start()

    def _wait(self) -> None:
        self.output, _ = self.proc.communicate()
        self.exited = time.perf_counter() - self.t0

    def result(self) -> tuple[float, int, str]:
        """(seconds from start to exit, exit code, output), once it has exited."""
        self.waiter.join(WAIT)
        if self.waiter.is_alive():
            raise TimeoutError(f"{' '.join(self.command)} still runs after {WAIT:.0f} s")
        return self.exited, self.proc.returncode, self.output.decode(errors="replace").strip()

    def failed(self) -> bool:
        """It has exited, with an exit code other than 0."""
        return self.proc.poll() not in (None, 0)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.waiter.join()


def remove_created(client: docker.DockerClient, prefix: str, apps: tuple[str, ...]) -> None:
    """Remove every service named ``prefix…`` (the ledger's and our own) and their tasks'
    containers at once (as the tests do: nothing waits for Swarm's graceful stop), then
    the apps' containers and images."""
    services = client.api.services(filters={"name": prefix})  # type: ignore[no-untyped-call]
    for row in services:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_service(row["ID"])  # type: ignore[no-untyped-call]
    for row in services:
        label = f"com.docker.swarm.service.id={row['ID']}"
        for container in client.api.containers(all=True, filters={"label": label}):
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_container(container["Id"], force=True)
    for app in apps:
        remove_app(client, app)


def describe(spent: dict[str, float]) -> str:
    return ", ".join(f"{name} {secs:.2f}" for name, secs in spent.items())


# --- the run ---------------------------------------------------------------------------

FIGURES = {
    "swarm": "ours (swarm): promote --wait (s)",
    "own_cli": "Swarm's own: service update --detach=false (s)",
    "own_completed": "Swarm's own: update completed (s)",
    "docker": "single engine: promote --wait (s)",
}


def measure(workdir: Path, rounds: int, say: Any = print) -> dict[str, Any]:
    """Set the three sides up, then time ``rounds`` interleaved rounds of each."""
    token = secrets.token_hex(3)
    swarm_app, docker_app = f"ledger-bench-{token}", f"ledger-bench-{token}-docker"
    times: dict[str, list[float]] = {key: [] for key in FIGURES}
    busy: list[float] = []
    split: list[dict[str, float]] = []  # where each of ours (swarm) went
    t0 = time.perf_counter()

    def note(line: str) -> None:
        say(f"[{time.perf_counter() - t0:5.1f} s] {line}")

    client = docker.from_env(timeout=120)
    engine = Engine(os.environ.get("DOCKER_HOST") or None)
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(1) as pool:
        stack.callback(client.close)
        stack.callback(engine.close)
        stack.callback(lambda: note("removed everything created"))
        stack.enter_context(single_node_swarm(client))
        stack.callback(remove_created, client, f"ledger-bench-{token}-", (swarm_app, docker_app))
        # The single engine is set up meanwhile; the pool's end waits for it before the
        # stack unwinds, also on an error.
        single_side = pool.submit(start_ledger, stack, workdir, "docker", docker_app)
        ours = start_ledger(stack, workdir, "swarm", swarm_app)
        template = service_name(swarm_app, "web")
        note(f"ours (swarm): {template} deployed, two releases made")
        own = OwnService(client, f"ledger-bench-{token}-own", Services(engine))
        own.create(template, token)
        note(f"Swarm's own: {own.name} running (update monitor {own.monitor_s:g} s)")
        single = single_side.result()
        note(f"single engine: {docker_app} deployed, two releases made")
        for n in range(rounds):
            ticks, started = procstat.machine_busy_ticks(), time.perf_counter()
            secs, spent = ours.promote(n)
            times["swarm"].append(secs)
            split.append(spent)
            cli, completed = own.update(n)
            times["own_cli"].append(cli)
            times["own_completed"].append(completed)
            times["docker"].append(single.promote(n)[0])
            wall = time.perf_counter() - started
            busy.append(round((procstat.machine_busy_ticks() - ticks) / procstat.HZ / wall, 2))
            note(
                f"round {n + 1}: ours (swarm) {secs:.2f} s ({describe(spent)}); Swarm's own: "
                f"CLI {cli:.2f} s, completed {completed:.2f} s; single engine "
                f"{times['docker'][-1]:.2f} s (machine: {busy[-1]:.2f} cores busy)"
            )
        problems = [  # the first start's line holds the admin token: never copied
            line
            for line in ours.server.problems() + single.server.problems()
            if "first start of this ledger" not in line
        ]
    return {
        "settings": {"scale": SCALE, "health_s": HEALTH, "swarm_monitor_s": own.monitor_s},
        "rounds": {key: [round(v, 3) for v in values] for key, values in times.items()},
        "machine_busy_cores": busy,
        "swarm_phases_s": split,
        "summary": {key: summary(values) for key, values in times.items()},
        "swarm_phases_p50_s": {
            name: summary([spent[name] for spent in split if name in spent])["p50"]
            for name in split[0]
        },
        "ledgerd_problems": problems,
    }


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A row per figure (p50 as the value, p99 beside it), then the target row."""
    rows: list[dict[str, Any]] = [
        {"figure": name, "value": result["summary"][key]["p50"],
         "p99": result["summary"][key]["p99"]}
        for key, name in FIGURES.items()
    ]  # fmt: skip
    gap = round(result["summary"]["swarm"]["p50"] - result["summary"]["own_completed"]["p50"], 3)
    rows.append(
        {"figure": TARGET_FIGURE, "value": gap,
         "target": f"<= {TARGET_MARGIN}", "met": gap <= TARGET_MARGIN}
    )  # fmt: skip
    return rows


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run: one round")
    p.add_argument("--rounds", type=int, default=0, help="rounds per figure (5; quick 1)")
    p.add_argument("--out", default=str(HERE / "results" / "swarm.json"))
    args = p.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 5)
    if rounds < 1:
        p.error("--rounds must be at least 1")
    signal.signal(signal.SIGTERM, _interrupt)  # ends like Ctrl-C: everything is removed
    health = ", ".join(f"{key} {value:g} s" for key, value in HEALTH.items())
    print(f"health (every side): {health}; {SCALE} replicas; {rounds} rounds", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-swarm-"))
    try:
        result = measure(workdir, rounds, say=lambda line: print(line, flush=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["figures"] = figures(result)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    for row in result["figures"]:
        if "target" in row:
            verdict = "met" if row["met"] else "MISSED"
            print(f"{row['figure']:48} {row['value']}  (target {row['target']}: {verdict})")
        else:
            print(f"{row['figure']:48} p50 {row['value']}  p99 {row['p99']}")
    print(f"where ours (swarm) went, p50 (s): {describe(result['swarm_phases_p50_s'])}")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
