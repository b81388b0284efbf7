"""Workflow benchmark: how soon a webhook starts a job, and push → live against doing it by hand.

.venv/bin/python bench/workflows.py [--quick] [--rounds N] [--out bench/results/workflows.json]

What is measured, in one run:

* **accepted → started**: a ``ledgerd`` on the ``record`` runtime (SQLite, temp dir) with a
  workflow on a local bare repository. Each round commits, sends the push as a signed
  GitHub webhook over HTTP and reads the job back: the webhook's answer time as the git
  host sees it (HTTP round trip, the delivery recorded and the job queued, read-your-writes
  included), and *accepted → started*: from the job's ``JobQueued`` event (recorded in the
  transaction that accepted the delivery) to its ``JobStarted`` event, server clock.
* **push → active** (Docker): a ``ledgerd`` on the ``docker`` runtime, an app of one
  ``web`` replica (static busybox ``httpd``, health checked), a bare repository whose
  post-receive hook sends each push as a signed webhook. Each round changes a file, commits,
  and times from ``git push`` to the moment ``GetApp`` shows a release of that commit
  active. Alternated with the same steps by hand: ``ledgerctl deploy DIR --wait`` of the
  same tree, timed from process start to exit.

Why: a workflow is worth having only if it is not slower than doing it by hand. Targets:
accepted → started p50 < 100 ms; push → active within 1.5 times the manual deploy (the job
fetches the commit and packs it; the manual deploy packs the directory). Nothing here is
asserted in tests; ``tests/e2e/test_benchmark_smoke.py`` runs ``--quick`` and fails only on
an error or a missing figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0]).resolve() == HERE:  # run as a script: import as `bench.*`
    sys.path[0] = str(HERE.parent)

from bench.server import ROOT, Ledgerd, free_port, ledgerctl  # noqa: E402
from ledger_api.v1 import ledger_pb2 as pb  # noqa: E402
from ledger_api.v1.ledger_pb2_grpc import LedgerStub  # noqa: E402
from tests.support import webhooks  # noqa: E402
from tests.support.auth import channel_to  # noqa: E402
from tests.support.docker import HTTP_APP, write_context  # noqa: E402
from tests.support.git import Repository, install_webhook  # noqa: E402
from tests.support.webhook_payloads import GITHUB_PUSH, changed  # noqa: E402

MANIFEST = """\
services:
  web:
    port: 8000
    health: {path: /health, grace: 5, interval: 0.2, timeout: 1}
"""
WAIT = 300.0
TARGET_STARTED_MS = 100.0
TARGET_RATIO = 1.5


def serve(workdir: Path, runtime: str) -> Ledgerd:
    console = free_port()
    env = {
        "LEDGER_RUNTIME": runtime,
        "LEDGER_CONSOLE_LISTEN": f"127.0.0.1:{console}",
        "LEDGER_PUBLIC_URL": f"http://127.0.0.1:{console}/",
    }
    server = Ledgerd(workdir=workdir, extra_env=env)  # extra_env wins over its defaults
    server.start()
    return server


def workflow(api: LedgerStub, app: str, repo: Repository, promote: str) -> pb.WorkflowSecret:
    api.CreateApp(pb.CreateAppRequest(name=app))
    settings = pb.WorkflowSettings(repository=repo.url, apps=[app], promote=promote)
    return api.CreateWorkflow(pb.CreateWorkflowRequest(name="bench", settings=settings))


def ended_job(api: LedgerStub, job_id: str) -> pb.Job:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        job = api.GetJob(pb.GetJobRequest(id=job_id))
        if job.status in ("succeeded", "failed", "superseded"):
            return job
        time.sleep(0.02)
    raise TimeoutError(f"job {job_id} did not end")


def seconds(stamp: Any) -> float:
    return float(stamp.seconds + stamp.nanos / 1e9)


def measure_started(workdir: Path, rounds: int) -> dict[str, Any]:
    """Webhook answer time and accepted → started, on the record runtime."""
    server = serve(workdir / "record", "record")
    try:
        repo = Repository(workdir / "record-git")
        with channel_to(server.target, server.token()) as channel:
            api = LedgerStub(channel)
            created = workflow(api, "bench", repo, "manual")
            answers, started = [], []
            for number in range(rounds):
                sha = repo.commit({"n": str(number)}, f"round {number}")
                payload = changed(GITHUB_PUSH, after=sha)
                t0 = time.perf_counter()
                answer = webhooks.github(
                    created.workflow.webhook_url, created.secret, "push", payload
                )
                answers.append((time.perf_counter() - t0) * 1000)
                job = ended_job(api, str(answer.body["job_id"]))
                started.append((seconds(job.started_at) - seconds(job.created_at)) * 1000)
        return {"webhook_answer_ms": summary(answers), "accepted_to_started_ms": summary(started)}
    finally:
        server.stop()


def measure_push(workdir: Path, rounds: int) -> dict[str, Any]:
    """push → active against ``ledgerctl deploy --wait``, alternated, on Docker."""
    server = serve(workdir / "docker", "docker")
    try:
        repo = Repository(workdir / "docker-git")
        with channel_to(server.target, server.token()) as channel:
            api = LedgerStub(channel)
            created = workflow(api, "bench-wf", repo, "auto")
            api.CreateApp(pb.CreateAppRequest(name="bench-hand"))
            install_webhook(repo, created.workflow.webhook_url, created.secret, sys.executable)
            pushes, by_hand = [], []
            for number in range(rounds + 1):  # the first round warms the image cache up
                write_context(repo.work, HTTP_APP, {"ledger.yml": MANIFEST, "n": str(number)})
                t0 = time.perf_counter()
                sha = repo.commit({}, f"round {number}")
                active_commit(api, "bench-wf", sha)
                push = time.perf_counter() - t0
                hand = deploy_by_hand(server, repo.work)
                if number:
                    pushes.append(push)
                    by_hand.append(hand)
        return {"push_to_active_s": summary(pushes), "deploy_wait_s": summary(by_hand)}
    finally:
        server.stop()
        cleanup_containers(("bench-wf", "bench-hand"))


def active_commit(api: LedgerStub, app: str, sha: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        active = api.GetApp(pb.GetAppRequest(name=app)).active_release_id
        if active and api.GetRelease(pb.GetReleaseRequest(app=app, id=active)).commit.sha == sha:
            return
        time.sleep(0.02)
    raise TimeoutError(f"{sha[:12]} never became active on {app}")


def deploy_by_hand(server: Ledgerd, directory: Path) -> float:
    env = {"LEDGER_HOST": server.target, "LEDGER_TOKEN": server.token(), "PATH": "/usr/bin:/bin"}
    t0 = time.perf_counter()
    subprocess.run(
        [*ledgerctl(), "-a", "bench-hand", "deploy", str(directory), "--wait"],
        env=env, cwd=ROOT, check=True, capture_output=True, timeout=WAIT,
    )  # fmt: skip
    return time.perf_counter() - t0


def cleanup_containers(apps: tuple[str, ...]) -> None:
    import docker  # only the Docker half needs the SDK

    client = docker.from_env()
    try:
        for app in apps:
            for container in client.containers.list(
                all=True, filters={"label": f"ledger.app={app}"}
            ):
                container.remove(force=True)
    finally:
        client.close()


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "n": len(ordered),
    }


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    started = result["started"]["accepted_to_started_ms"]["p50"]
    answer = result["started"]["webhook_answer_ms"]["p50"]
    rows = [
        {"figure": "webhook answer p50 (ms)", "value": answer},
        {"figure": "accepted → started p50 (ms)", "value": started,
         "target": f"< {TARGET_STARTED_MS:.0f}", "met": started < TARGET_STARTED_MS},
    ]  # fmt: skip
    if "push" in result:
        push = result["push"]["push_to_active_s"]["p50"]
        hand = result["push"]["deploy_wait_s"]["p50"]
        rows += [
            {"figure": "push → active p50 (s)", "value": push},
            {"figure": "ledgerctl deploy --wait p50 (s)", "value": hand},
            {"figure": "push / by hand", "value": round(push / hand, 2),
             "target": f"< {TARGET_RATIO}", "met": push / hand < TARGET_RATIO},
        ]  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a smoke run: few rounds")
    p.add_argument("--rounds", type=int, default=0, help="rounds per figure (30 / 5; quick 5 / 1)")
    p.add_argument("--no-docker", action="store_true", help="skip push → active")
    p.add_argument("--out", default=str(HERE / "results" / "workflows.json"))
    args = p.parse_args(argv)
    started_rounds = args.rounds or (5 if args.quick else 30)
    push_rounds = args.rounds or (1 if args.quick else 5)
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-workflows-"))
    result: dict[str, Any] = {"started": measure_started(workdir, started_rounds)}
    if not args.no_docker:
        result["push"] = measure_push(workdir, push_rounds)
    result["figures"] = figures(result)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    for row in result["figures"]:
        target = (
            f"  (target {row['target']}: {'met' if row['met'] else 'MISSED'})"
            if "target" in row
            else ""
        )
        print(f"{row['figure']:36} {row['value']}{target}")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
