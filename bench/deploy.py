"""Rollout benchmark: our Docker promotions against Docker Swarm's rolling update.

.venv/bin/python bench/deploy.py [--rounds N] [--out bench/results/deploy.json]

What is measured, side by side in one run on the local Docker Engine:

* **ours**: a ``ledgerd`` (``LEDGER_RUNTIME=docker``, SQLite in a temp dir) runs an app of
  3 ``web`` replicas (static busybox ``httpd``, healthy as soon as it listens; health
  interval 1 s). The image is built once with ``ledgerctl build DIR`` and promoted once
  before anything is timed. Each round creates a release of the same image
  (``ledgerctl env set ROUND=n``; or, with ``--new-release build``, a rebuild of the
  unchanged source) and times ``ledgerctl releases promote R --wait`` from process start
  to exit. The promotion's recorded steps split that time: *health
  waiting* is the sum over the new containers of ``container_healthy`` -
  ``container_started``; *overhead* is the rest (starting and stopping containers,
  recording steps, the CLI's start-up and its ``--wait`` polling).
* **swarm**: a one-node swarm runs the same busybox app as a service of 3 replicas with
  host networking (each replica picks its own port) and a Docker health check with the
  same interval; update config parallelism 1, order start-first. Each round updates the
  service's env (``ROUND=n``) and times until its update status is ``completed`` with 3
  new tasks running, once with Swarm's default monitor period (5 s) and once with
  ``monitor=1s``.

Why: the rollout is what a user waits for on every deploy, and Swarm is the obvious
alternative with the same guarantees (one replacement at a time, start-first, health
gated), so it is the yardstick. Targets: ours < 4 s in total, < 1 s of overhead, and
faster than Swarm tuned with ``monitor=1s``. Nothing here is asserted in tests.

Everything created on the engine (containers, images, the service) is removed at the end,
also on an error or Ctrl-C. The engine is made a single-node swarm if it is none, shared
with test sessions using it at the same time and left by the last one
(``tests.support.swarm.single_node_swarm``); a swarm found active is used as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == HERE:  # run as a script: import as `bench.*`
    sys.path[0] = str(HERE.parent)

import docker  # noqa: E402
from docker.models.services import Service  # noqa: E402
from docker.types import Healthcheck, ServiceMode, UpdateConfig  # noqa: E402

from bench import procstat  # noqa: E402
from bench.report import Row, at_least, at_most  # noqa: E402
from bench.server import ROOT, Ledgerd, free_port  # noqa: E402
from tests.support.swarm import single_node_swarm  # noqa: E402

LEDGERCTL = ROOT / ".venv" / "bin" / "ledgerctl"
SCALE = 3
HEALTH_INTERVAL = 1  # seconds, for both sides
HEALTH_TIMEOUT = 2
NS = 1_000_000_000
POLL = 0.05  # seconds between two looks at the swarm service
ROUND_LIMIT = 300.0  # seconds one timed rollout may take before the run gives up
TARGET_TOTAL = 4.0
TARGET_OVERHEAD = 1.0
LABEL_APP = "ledger.app"  # the label our runtime puts on an app's containers
SWARM_VARIANTS: dict[str, int | None] = {"default": None, "monitor=1s": 1 * NS}

# Ours: the runtime hands each replica its own $PORT.
OURS_APP = """\
mkdir -p /www
echo ok > /www/health
exec httpd -f -p "$PORT" -h /www
"""

# Swarm cannot give each replica its own port. Host networking, as ours uses, is what makes a
# replica reachable on the host here: with --iptables=false the routing mesh cannot publish
# ports (tasks on the default or an overlay network do start, but nothing outside reaches
# them). On the host network replicas would clash on a fixed port, so each picks a free one
# at random and writes it where the health check finds it.
SWARM_APP = """\
mkdir -p /www /tmp
echo ok > /www/health
while :; do
  port=$((20000 + RANDOM % 10000))
  netstat -ltn | grep -q ":$port " || break
done
echo "$port" > /tmp/port
exec httpd -f -p "$port" -h /www
"""

MANIFEST = f"""\
services:
  web:
    port: 8000
    scale: {SCALE}
    health: {{path: /health, interval: {HEALTH_INTERVAL}, grace: 30, timeout: {HEALTH_TIMEOUT}}}
"""

SWARM_HEALTH = ["CMD", "/bin/sh", "-c", "wget -q -O- http://127.0.0.1:$(cat /tmp/port)/health"]

# What each stretch of our promotion's timeline is called, by the point that ends it.
PHASES = {
    "created": "CLI start + PromoteRelease call",
    "started": "promotion queued -> started",
    "container_started": "create + start a container",
    "container_healthy": "health waiting",
    "container_stopped": "stop + remove an old container",
    "container_removed": "remove a dead container",
    "ended": "finish (cleanup, settle)",
    "cli_exit": "CLI --wait poll + exit",
}


def write_context(directory: Path, app_sh: str, manifest: bool) -> Path:
    """A build context as the tests make it (static busybox, Dockerfile, ``app.sh``), plus
    ``ledger.yml`` for ours."""
    from tests.support.docker import write_context as busybox_context

    return busybox_context(directory, app_sh, {"ledger.yml": MANIFEST} if manifest else None)


def parse_time(text: str) -> float:
    """An RFC 3339 UTC time of ledgerctl's JSON as a ``time.time()`` value."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Machine:
    """Busy cores of the whole machine while a block runs (other work skews rollouts)."""

    def __init__(self) -> None:
        self.cores = 0.0

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        b0, t0 = procstat.machine_busy_ticks(), time.perf_counter()
        try:
            yield
        finally:
            wall = max(time.perf_counter() - t0, 1e-9)
            self.cores = round((procstat.machine_busy_ticks() - b0) / procstat.HZ / wall, 2)


# --- ours ------------------------------------------------------------------------------


class CliFailed(RuntimeError):
    """A ``ledgerctl`` command exited with a non-zero code."""


@dataclass
class Ours:
    """One ``ledgerd`` with the Docker runtime and one app, driven through ``ledgerctl``."""

    workdir: Path
    app: str
    server: Ledgerd = field(init=False)
    new_release: str = "env"  # how each round makes its release: env | build
    source: Path = Path()
    build_s: float = 0.0
    baseline_s: float = 0.0

    def __post_init__(self) -> None:
        self.server = Ledgerd(workdir=self.workdir, extra_env={"LEDGER_RUNTIME": "docker"})

    def ctl(self, *args: str, timeout: float = ROUND_LIMIT) -> tuple[float, Any]:
        """Run ``ledgerctl --json -a APP ARGS``; returns (wall seconds, parsed stdout)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env["LEDGER_HOST"] = self.server.target
        env["LEDGER_TOKEN"] = self.server.token()
        command = [str(LEDGERCTL)] if LEDGERCTL.exists() else [sys.executable, "-m", "cli"]
        t0 = time.perf_counter()
        done = subprocess.run(
            [*command, "--json", "-a", self.app, *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        secs = time.perf_counter() - t0
        if done.returncode != 0:
            message = f"ledgerctl {' '.join(args)} exited {done.returncode}: "
            message += done.stderr.strip()[-1000:]
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                output = json.loads(done.stdout)["cause"]["output"]
                message += f" (container output: {output.strip()[-300:]})"
            raise CliFailed(message)
        return secs, json.loads(done.stdout) if done.stdout.strip() else None

    def start(self, source: Path) -> None:
        """Start ledgerd, create the app, build it, promote the build (none of it timed)."""
        self.source = source
        self.server.start()
        self.ctl("apps", "create", self.app)
        self.build_s, built = self.ctl("build", str(source), timeout=600)
        release = built["release_id"]
        self.baseline_s, promotion = self.ctl("releases", "promote", release, "--wait")
        if promotion["status"] != "succeeded":
            raise RuntimeError(f"the baseline promotion {promotion['status']}")

    def timed_round(self, n: int, machine: Machine) -> dict[str, Any]:
        """One timed promotion of a new release of the same build."""
        release = self.make_release(n)
        launched = time.time()
        try:
            with machine.measure():
                total, promotion = self.ctl("releases", "promote", release, "--wait")
        except CliFailed as error:
            if self.new_release != "env":
                raise
            hint = "if the release made by env set lost the build's ledger.yml (scale, port),"
            raise CliFailed(f"{error}; {hint} --new-release build avoids it") from None
        exited = launched + total
        if promotion["status"] != "succeeded":
            raise RuntimeError(f"round {n}: promotion {promotion['id']} {promotion['status']}")
        _, info = self.ctl("promotions", "info", promotion["id"])
        health = health_wait(info["steps"])
        return {
            "round": n,
            "release": release,
            "promotion": promotion["id"],
            "total_s": round(total, 3),
            "health_wait_s": round(health, 3),
            "overhead_s": round(total - health, 3),
            "phases_s": phases(info, launched, exited),
            "machine_cores": machine.cores,
            "steps": [
                {
                    "at_s": round(parse_time(s["time"]) - launched, 3),  # since CLI launch
                    "kind": s["kind"],
                    "message": s["message"],
                }
                for s in info["steps"]
            ],
        }

    def make_release(self, n: int) -> str:
        """A new release of the same image (not timed): ``env set ROUND=n`` releases the
        active build; ``build`` builds the unchanged source again (every layer cached)."""
        if self.new_release == "build":
            _, built = self.ctl("build", str(self.source), timeout=600)
            return str(built["release_id"])
        _, changed = self.ctl("env", "set", f"ROUND={n}")
        return str(changed["release"]["id"])

    def stop(self, keep: bool, log_copy: Path | None) -> list[str]:
        """Stop ledgerd; returns the trouble its log shows (it is copied to ``log_copy``)."""
        self.server.stop()
        problems = self.server.problems()
        if log_copy is not None and self.server.log.exists():
            shutil.copy(self.server.log, log_copy)
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return problems


def health_wait(steps: list[dict[str, Any]]) -> float:
    """Sum over containers of (``container_healthy`` - its ``container_started``) seconds.

    Steps name the replica first (``web.2 started (v5, port 21748)``); a healthy step is paired with
    the latest started step of the same replica before it.
    """
    started: dict[str, float] = {}
    total = 0.0
    for step in steps:
        replica = step["message"].split(" ", 1)[0]
        if step["kind"] == "container_started":
            started[replica] = parse_time(step["time"])
        elif step["kind"] == "container_healthy" and replica in started:
            total += parse_time(step["time"]) - started.pop(replica)
    return total


def phases(promotion: dict[str, Any], launched: float, exited: float) -> dict[str, float]:
    """Where the wall time of one ``promote --wait`` went, from the recorded times.

    The timeline is CLI launch, the promotion's ``created_at`` and ``started_at``, every
    step, ``ended_at`` and CLI exit; each stretch is charged to the point that ends it
    (all on this machine's clock).
    """
    points: list[tuple[str, float]] = [("created", parse_time(promotion["created_at"]))]
    if promotion.get("started_at"):
        points.append(("started", parse_time(promotion["started_at"])))
    points += [(s["kind"], parse_time(s["time"])) for s in promotion["steps"]]
    if promotion.get("ended_at"):
        points.append(("ended", parse_time(promotion["ended_at"])))
    points.append(("cli_exit", exited))
    spent: dict[str, float] = {}
    previous = launched
    for kind, moment in points:
        spent[kind] = spent.get(kind, 0.0) + (moment - previous)
        previous = moment
    return {kind: round(secs, 3) for kind, secs in spent.items()}


FLOOR_PARTS = ("engine_create_s", "engine_start_s", "engine_stop_s", "engine_remove_s")


def measure_floors(
    client: docker.DockerClient, ours: Ours, token: str, times: int
) -> dict[str, list[float]]:
    """What a rollout cannot avoid, measured ``times`` times each: one ``ledgerctl`` call
    (process start to exit, one read), and the engine's own time to create, start, stop
    and remove one container (host network, init, ``$PORT``, our image), straight through
    the SDK."""
    floors: dict[str, list[float]] = {"cli_call_s": [], **{k: [] for k in FLOOR_PARTS}}
    for _ in range(times):
        secs, _ = ours.ctl("apps", "info", ours.app)
        floors["cli_call_s"].append(round(secs, 3))
    image = str(client.images.list(name=ours.app)[0].id)
    api = client.api
    for n in range(times):
        name = f"ledger-bench-floor-{token}-{n}"
        try:
            marks = [time.perf_counter()]
            created = api.create_container(
                image,
                name=name,
                environment={"PORT": str(free_port())},
                detach=True,
                host_config=api.create_host_config(network_mode="host", init=True),
            )
            marks.append(time.perf_counter())
            api.start(created["Id"])
            marks.append(time.perf_counter())
            time.sleep(0.3)  # let httpd settle, as a replica does before it is replaced
            marks.append(time.perf_counter())
            api.stop(created["Id"], timeout=10)
            marks.append(time.perf_counter())
            api.remove_container(created["Id"], force=True)
            marks.append(time.perf_counter())
            spans = [marks[1] - marks[0], marks[2] - marks[1], marks[4] - marks[3]]
            spans.append(marks[5] - marks[4])
            for key, secs in zip(FLOOR_PARTS, spans, strict=True):
                floors[key].append(round(secs, 3))
        finally:
            with contextlib.suppress(docker.errors.APIError):
                api.remove_container(name, force=True)
    return floors


def remove_app(client: docker.DockerClient, app: str) -> None:
    """Remove the app's containers and the images built for it (tagged ``<app>:…``)."""
    rows = client.api.containers(all=True, filters={"label": f"{LABEL_APP}={app}"})
    for row in rows:
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_container(row["Id"], force=True)
    for image in client.images.list(name=app):
        for tag in image.tags:  # by tag: the same content may be another's image, by id
            with contextlib.suppress(docker.errors.NotFound):
                client.images.remove(tag, force=True)


# --- swarm -----------------------------------------------------------------------------


class Swarm:
    """A one-node swarm (shared, see ``single_node_swarm``) and one service per variant,
    all removed on exit."""

    def __init__(self, client: docker.DockerClient, context: Path, token: str) -> None:
        self.client = client
        self.context = context
        self.name = f"ledger-bench-swarm-{token}"
        self.tag = f"{self.name}:1"
        self.image_id = ""
        self.joined = False
        self._shared: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        self.service_ids: list[str] = []

    def __enter__(self) -> Swarm:
        image, _ = self.client.images.build(
            path=str(self.context), tag=self.tag, rm=True, forcerm=True
        )
        self.image_id = str(image.id)
        # Shared with test sessions (and other benchmarks) using the engine at the same
        # time: made a swarm if it is none, left by the last one using it.
        self._shared = single_node_swarm(self.client)
        try:
            self._shared.__enter__()
            self.joined = True
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        """Remove the services, leave the swarm, then remove whatever of ours is left."""
        for service_id in list(self.service_ids):
            with contextlib.suppress(docker.errors.APIError):
                self.remove(service_id)
        if self.joined:
            with contextlib.suppress(docker.errors.APIError):
                self._shared.__exit__(None, None, None)
            self.joined = False
        for service_id in self.service_ids:  # tasks a forced leave left behind
            for row in self.containers(service_id):
                with contextlib.suppress(docker.errors.APIError):
                    self.client.api.remove_container(row["Id"], force=True)
        if self.image_id:  # by tag: the same content may be another's image, by id
            with contextlib.suppress(docker.errors.APIError):
                self.client.images.remove(self.tag, force=True)
            self.image_id = ""

    def containers(self, service_id: str) -> list[dict[str, Any]]:
        """The engine's containers of one service's tasks (listed, not inspected)."""
        label = f"com.docker.swarm.service.id={service_id}"
        found: list[dict[str, Any]] = self.client.api.containers(all=True, filters={"label": label})
        return found

    def spec(self, n: int, monitor: int | None) -> dict[str, Any]:
        """Everything the service is (an update replaces the whole spec)."""
        return {
            "image": self.image_id,  # by id: the engine then never tries to pull it
            "env": [f"ROUND={n}"],
            "init": True,  # like our containers: SIGTERM reaches httpd, stops are quick
            "networks": ["host"],
            "mode": ServiceMode("replicated", replicas=SCALE),
            "healthcheck": Healthcheck(
                test=SWARM_HEALTH,
                interval=HEALTH_INTERVAL * NS,
                timeout=HEALTH_TIMEOUT * NS,
                retries=3,
                start_period=0,
            ),
            "update_config": UpdateConfig(parallelism=1, order="start-first", monitor=monitor),
        }

    def create(self, variant: str, monitor: int | None) -> Service:
        """The service at ``ROUND=0``, once its 3 tasks run (not timed)."""
        name = f"{self.name}-{variant.replace('=', '-')}"
        service: Service = self.client.services.create(name=name, **self.spec(0, monitor))  # type: ignore[no-untyped-call]
        self.service_ids.append(str(service.id))
        wait_rolled(service, 0, None, time.perf_counter())
        return service

    def timed_round(
        self, service: Service, n: int, monitor: int | None, machine: Machine
    ) -> dict[str, Any]:
        """One timed update of the service's env to ``ROUND=n``."""
        service.reload()
        before = (service.attrs.get("UpdateStatus") or {}).get("StartedAt")
        with machine.measure():
            t0 = time.perf_counter()
            service.update(name=service.name, **self.spec(n, monitor))  # type: ignore[no-untyped-call]
            running_s, completed_s = wait_rolled(service, n, before, t0)
        return {
            "round": n,
            "total_s": round(completed_s, 3),
            "new_running_s": round(running_s, 3),
            "machine_cores": machine.cores,
        }

    def remove(self, service_id: str) -> None:
        """Remove a service and wait (30 s at most) until its containers are gone."""
        with contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_service(service_id)  # type: ignore[no-untyped-call]
        limit = time.monotonic() + 30
        while self.containers(service_id) and time.monotonic() < limit:
            time.sleep(0.2)
        if not self.containers(service_id):
            self.service_ids.remove(service_id)


def wait_rolled(service: Service, n: int, before: str | None, t0: float) -> tuple[float, float]:
    """Seconds since ``t0`` until 3 tasks with ``ROUND=n`` run, and until the update
    status is ``completed`` (a new update status, not the one started at ``before``;
    a new service has none)."""
    marker = f"ROUND={n}"
    running_at: float | None = None
    while True:
        service.reload()
        status = service.attrs.get("UpdateStatus") or {}
        tasks = service.tasks(filters={"desired-state": "running"})  # type: ignore[no-untyped-call]
        fresh = [
            t
            for t in tasks
            if t["Status"]["State"] == "running"
            and marker in (t["Spec"]["ContainerSpec"].get("Env") or [])
        ]
        now = time.perf_counter()
        if running_at is None and len(fresh) >= SCALE:
            running_at = now
        state = status.get("State")
        if before is None and not status and running_at is not None:
            return running_at - t0, now - t0
        if running_at is not None and state == "completed" and status["StartedAt"] != before:
            return running_at - t0, now - t0
        if state in ("paused", "rollback_started", "rollback_paused", "rollback_completed"):
            raise RuntimeError(f"swarm update {state}: {status.get('Message', '')}")
        if now - t0 > ROUND_LIMIT:
            raise TimeoutError(f"swarm update not done after {ROUND_LIMIT:.0f} s: {status}")
        time.sleep(POLL)


# --- the run ---------------------------------------------------------------------------


@dataclass
class Series:
    """One reported figure over the rounds, in seconds."""

    figure: str
    values: list[float]
    target: str = ""
    met: bool | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "values_s": self.values,
            "median_s": round(self.median, 3) if self.values else None,
            "min_s": min(self.values, default=None),
            "max_s": max(self.values, default=None),
            "target": self.target,
            "met": self.met,
        }


def summarize(result: dict[str, Any]) -> list[Series]:
    """The figures of the table, with their targets checked on the medians."""
    ours = result.get("ours", {}).get("rounds", [])
    total = Series("ours: promote --wait, total", [r["total_s"] for r in ours], "< 4 s")
    health = Series("ours: health waiting", [r["health_wait_s"] for r in ours])
    overhead = Series("ours: overhead (total - health)", [r["overhead_s"] for r in ours], "< 1 s")
    if ours:
        total.met = total.median < TARGET_TOTAL
        overhead.met = overhead.median < TARGET_OVERHEAD
    series = [total, health, overhead]
    for variant, rounds in result.get("swarm", {}).get("variants", {}).items():
        running = [r["new_running_s"] for r in rounds]
        series.append(Series(f"swarm {variant}: 3 new tasks running", running))
        done = Series(f"swarm {variant}: update completed", [r["total_s"] for r in rounds])
        if variant == "monitor=1s":
            done.target = "> ours total"
            if ours and rounds:
                done.met = total.median < done.median
        series.append(done)
    return series


def phase_medians(rounds: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """Per stretch of our timeline: (name, median seconds per round, share of the total)."""
    kinds = [k for k in PHASES if any(k in r["phases_s"] for r in rounds)]
    kinds += sorted({k for r in rounds for k in r["phases_s"]} - set(kinds))
    total = statistics.median(r["total_s"] for r in rounds) if rounds else 0.0
    found = []
    for kind in kinds:
        median = statistics.median(r["phases_s"].get(kind, 0.0) for r in rounds)
        found.append((PHASES.get(kind, kind), median, median / total if total else 0.0))
    return found


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(series: list[Series]) -> str:
    """The figures as a text table (seconds)."""
    verdicts = {None: "", True: "met", False: "MISSED"}
    lines = [
        f"{'figure':<40} {'rounds':>6} {'median':>7} {'min':>7} {'max':>7}  target",
        "-" * 84,
    ]
    for s in series:
        median = s.median if s.values else None
        target = f"{s.target} {verdicts[s.met]}".strip()
        lines.append(
            f"{s.figure:<40} {len(s.values):>6} {_s(median):>7}"
            f" {_s(min(s.values, default=None)):>7} {_s(max(s.values, default=None)):>7}  {target}"
        )
    return "\n".join(lines)


def phase_table(rounds: list[dict[str, Any]], floors: dict[str, list[float]] | None) -> str:
    """Where our time goes, and next to it what the CLI and the engine alone cost."""
    lines = [f"{'where our time goes (median per round)':<44} {'seconds':>7} {'share':>6}"]
    for name, secs, share in phase_medians(rounds):
        lines.append(f"{name:<44} {secs:>7.3f} {share:>6.0%}")
    if floors and all(floors.values()):
        m = {k: statistics.median(v) for k, v in floors.items()}
        start = SCALE * (m["engine_create_s"] + m["engine_start_s"])
        stop = SCALE * (m["engine_stop_s"] + m["engine_remove_s"])
        lines += [
            "",
            f"{'floors (median; no ledger involved)':<44} {'seconds':>7}",
            f"{'one ledgerctl call, process start to exit':<44} {m['cli_call_s']:>7.3f}",
            f"{f'engine create + start, x{SCALE}':<44} {start:>7.3f}",
            f"{f'engine stop + remove, x{SCALE}':<44} {stop:>7.3f}",
            f"{'sum':<44} {m['cli_call_s'] + start + stop:>7.3f}",
        ]
    return "\n".join(lines)


def rows(result: dict[str, Any]) -> list[Row]:
    """The figures as the main benchmark's report rows (``bench/run.py --cases deploy``)."""
    found: list[Row] = []
    series = summarize(result)
    tuned = next((s for s in series if s.figure == "swarm monitor=1s: update completed"), None)
    for s in series:
        if not s.values:
            continue
        backend = "swarm" if s.figure.startswith("swarm") else "docker"
        note = f"{len(s.values)} rounds, {min(s.values):.2f}-{max(s.values):.2f} s"
        row = Row("deploy", backend, s.figure, s.median, "s", note=note, detail=s.as_dict())
        if s.figure.startswith("ours: promote"):
            row.targets.append((at_most(TARGET_TOTAL, "< 4 s"), s.median))
            if tuned is not None and tuned.values:
                row.targets.append((at_most(tuned.median, "< swarm monitor=1s"), s.median))
        elif s.figure.startswith("ours: overhead"):
            row.targets.append((at_most(TARGET_OVERHEAD, "< 1 s"), s.median))
        found.append(row)
    for part, backend in (("ours", "docker"), ("swarm", "swarm")):
        error = result.get(part, {}).get("error")
        if error:
            failed = (at_least(0, "completes"), float("nan"))
            note = error[:300].replace("\n", " ")
            found.append(
                Row("deploy", backend, "case failed", float("nan"), "", [failed], note=note)
            )
    return found


@dataclass
class Options:
    rounds: int = 5
    parts: tuple[str, ...] = ("ours", "swarm")
    pause: float = 1.0
    quiet_wait: float = 5.0
    new_release: str = "env"
    keep: bool = False
    log_copy: Path | None = None
    say: Callable[[str], None] = print


def _quiet(options: Options, own: list[int]) -> None:
    if options.quiet_wait > 0:
        procstat.wait_quiet(0.4, options.quiet_wait, own)


def run_ours(
    client: docker.DockerClient, workdir: Path, token: str, options: Options
) -> dict[str, Any]:
    """Build and promote once, then time ``options.rounds`` promotions."""
    ours = Ours(workdir / "ledger", f"bench-deploy-{token}", options.new_release)
    ours.workdir.mkdir(parents=True)
    source = write_context(workdir / "ours-src", OURS_APP, manifest=True)
    section: dict[str, Any] = {"app": ours.app, "rounds": []}
    machine = Machine()
    try:
        ours.start(source)
        section.update(build_s=round(ours.build_s, 3), baseline_s=round(ours.baseline_s, 3))
        options.say(
            f"[ours] ledgerd pid {ours.server.pid}; build {ours.build_s:.2f} s, "
            f"first promotion {ours.baseline_s:.2f} s (not timed)"
        )
        for n in range(1, options.rounds + 1):
            _quiet(options, [ours.server.pid])
            r = ours.timed_round(n, machine)
            section["rounds"].append(r)
            options.say(
                f"[ours] round {n}: total {r['total_s']:.2f} s, health waiting "
                f"{r['health_wait_s']:.2f} s, overhead {r['overhead_s']:.2f} s "
                f"(machine {r['machine_cores']:.2f} cores busy)"
            )
            time.sleep(options.pause)
        section["floors"] = floors = measure_floors(client, ours, token, options.rounds)
        medians = {k: statistics.median(v) for k, v in floors.items()}
        options.say(
            "[ours] floors, median: one ledgerctl call {cli_call_s:.3f} s; engine create "
            "{engine_create_s:.3f} s, start {engine_start_s:.3f} s, stop {engine_stop_s:.3f} s,"
            " remove {engine_remove_s:.3f} s per container".format(**medians)
        )
    except Exception as error:
        section["error"] = f"{type(error).__name__}: {error}"
        options.say(f"[ours] FAILED: {section['error']}\n{ours.server.tail(15)}")
    finally:
        section["ledgerd_problems"] = ours.stop(options.keep, options.log_copy)
        remove_app(client, ours.app)
    return section


def run_swarm(
    client: docker.DockerClient, workdir: Path, token: str, options: Options
) -> dict[str, Any]:
    """Each variant: a new service, then ``options.rounds`` timed updates."""
    context = write_context(workdir / "swarm-src", SWARM_APP, manifest=False)
    section: dict[str, Any] = {"variants": {}}
    machine = Machine()
    try:
        with Swarm(client, context, token) as swarm:
            for variant, monitor in SWARM_VARIANTS.items():
                service = swarm.create(variant, monitor)
                rounds: list[dict[str, Any]] = []
                section["variants"][variant] = rounds
                for n in range(1, options.rounds + 1):
                    _quiet(options, [])
                    r = swarm.timed_round(service, n, monitor, machine)
                    rounds.append(r)
                    options.say(
                        f"[swarm {variant}] round {n}: completed {r['total_s']:.2f} s, "
                        f"3 new tasks running at {r['new_running_s']:.2f} s "
                        f"(machine {r['machine_cores']:.2f} cores busy)"
                    )
                    time.sleep(options.pause)
                swarm.remove(str(service.id))
    except Exception as error:
        section["error"] = f"{type(error).__name__}: {error}"
        options.say(f"[swarm] FAILED: {section['error']}")
    return section


def run(options: Options) -> dict[str, Any]:
    """Both halves, one after the other; everything created is removed at the end."""
    token = secrets.token_hex(3)
    client = docker.from_env()
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-deploy-"))
    t0 = time.perf_counter()
    result: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "rounds": options.rounds,
            "new_release": options.new_release,
            "scale": SCALE,
            "health_interval_s": HEALTH_INTERVAL,
            "python": platform.python_version(),
            "docker_server": client.version().get("Version", ""),
            "cpus": os.cpu_count(),
        }
    }
    try:
        if "ours" in options.parts:
            result["ours"] = run_ours(client, workdir, token, options)
        if "swarm" in options.parts:
            result["swarm"] = run_swarm(client, workdir, token, options)
    finally:
        client.close()
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result["meta"]["elapsed_s"] = round(time.perf_counter() - t0, 1)
    result["summary"] = [s.as_dict() for s in summarize(result)]
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=5, help="timed rollouts per side (5)")
    p.add_argument("--out", default=str(HERE / "results" / "deploy.json"))
    p.add_argument("--parts", default="ours,swarm", help="ours,swarm (both)")
    p.add_argument("--pause", type=float, default=1.0, help="seconds between rounds (1)")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=5.0,
        help="before each round wait up to N s for other processes to go quiet (5)",
    )
    p.add_argument(
        "--new-release",
        choices=("env", "build"),
        default="env",
        help="how each round makes its release: env set ROUND=n (default), or a rebuild",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (ledger, contexts)")
    args = p.parse_args(argv)
    args.parts = tuple(x for x in args.parts.split(",") if x)
    if set(args.parts) - {"ours", "swarm"} or args.rounds < 1:
        p.error("--parts takes ours,swarm; --rounds must be at least 1")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # ends like Ctrl-C: everything is cleaned up
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    options = Options(
        rounds=args.rounds,
        parts=args.parts,
        pause=args.pause,
        quiet_wait=args.quiet_wait,
        keep=args.keep,
        new_release=args.new_release,
        log_copy=out.with_name(f"{out.stem}-ledgerd.log"),
        say=lambda line: print(line, flush=True),
    )
    try:
        result = run(options)
    except KeyboardInterrupt as stop:
        print(f"interrupted ({str(stop) or 'Ctrl-C'}); everything created was removed", flush=True)
        return 130
    series = summarize(result)
    print(f"\n{table(series)}")
    ours = result.get("ours", {})
    if ours.get("rounds"):
        print(f"\n{phase_table(ours['rounds'], ours.get('floors'))}")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\nresults: {out} (whole run {result['meta']['elapsed_s']:.0f} s)")
    failed = any("error" in result.get(part, {}) for part in args.parts)
    return 1 if failed or any(s.met is False for s in series) else 0


if __name__ == "__main__":
    sys.exit(main())
