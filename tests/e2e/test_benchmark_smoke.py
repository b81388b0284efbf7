"""The benchmark cannot rot: its quick run (``bench/run.py --quick``) runs every case on
SQLite and PostgreSQL as part of the test command, and so do the quick runs of the
workflow and swarm benchmarks (``bench/workflows.py``, ``bench/swarm.py``) on Docker.

It fails when a case errors, a watch stream is refused, or a figure is missing; never when
a target is missed (targets are the benchmark's report, read by hand). The run starts its
own ledgerd and PostgreSQL from the machine's binaries, as ``make bench`` does.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import pytest

from bench.cases import CASES, SQLITE_ONLY
from bench.run import BACKENDS, CEILINGS
from bench.swarm import FIGURES as SWARM_FIGURES
from bench.swarm import TARGET_FIGURE as SWARM_TARGET
from tests.support.docker import docker_client
from tests.support.postgres import PostgresServer

__all__ = ["docker_client"]

ROOT = Path(__file__).resolve().parents[2]
REFUSALS = ("UNAUTHENTICATED", "PERMISSION_DENIED")


def run_bench(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a benchmark program with this interpreter from the project's root."""
    return subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    done = run_bench("bench/run.py", "--quick", "--out", str(out), timeout=900)
    assert out.exists(), (
        f"the benchmark wrote no results:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_the_quick_benchmark_runs_every_case_on_every_backend_without_an_error(
    postgres_server: PostgresServer, quick_run: dict[str, Any]
) -> None:
    rows = quick_run["rows"]
    failed = [
        f"{r['case']} on {r['backend']}: {r['note']}" for r in rows if r["figure"] == "case failed"
    ]
    ran = {(r["case"], r["backend"]) for r in rows}
    expected = {
        (case, backend)
        for case in CASES
        for backend in BACKENDS
        if backend == "sqlite" or case not in SQLITE_ONLY
    }

    assert failed == []
    assert sorted(expected - ran) == []
    assert set(CEILINGS) <= set(quick_run["ceilings"])


@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_every_figure_of_the_quick_benchmark_is_a_number(
    postgres_server: PostgresServer, quick_run: dict[str, Any]
) -> None:
    missing = [
        f"{r['case']} on {r['backend']}: {r['figure']}"
        for r in quick_run["rows"]
        if not isinstance(r["value"], int | float) or not math.isfinite(r["value"])
    ]
    assert missing == []


@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_every_watch_stream_of_the_quick_benchmark_is_admitted(
    postgres_server: PostgresServer, quick_run: dict[str, Any]
) -> None:
    watched = [r["detail"] for r in quick_run["rows"] if "first_response" in r["detail"]]
    assert watched, "the watch case reported no streams"
    for detail in watched:
        refused = [why for why in detail["ended_early"] if any(r in why for r in REFUSALS)]
        assert (detail["first_response"], refused) == (detail["streams"], [])


@pytest.mark.docker
@pytest.mark.timeout(600)
def test_the_quick_workflow_benchmark_gives_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "workflows.json"
    done = run_bench("bench/workflows.py", "--quick", "--out", str(out), timeout=600)
    assert done.returncode == 0, f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
    figures = json.loads(out.read_text())["figures"]
    names = [row["figure"] for row in figures]
    assert len(names) == 5
    assert all(
        isinstance(row["value"], int | float) and math.isfinite(row["value"]) for row in figures
    )


@pytest.mark.docker
@pytest.mark.timeout(600)
def test_the_quick_swarm_benchmark_gives_every_figure(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    out = tmp_path / "swarm.json"
    done = run_bench("bench/swarm.py", "--quick", "--out", str(out), timeout=600)
    assert done.returncode == 0, f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
    figures = json.loads(out.read_text())["figures"]
    assert [row["figure"] for row in figures] == [*SWARM_FIGURES.values(), SWARM_TARGET]
    numbers = [row[key] for row in figures for key in ("value", "p99") if key in row]
    assert all(isinstance(n, int | float) and math.isfinite(n) for n in numbers)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("benchmark", ["bench.inprocess", "bench.split_projection"])
def test_the_in_process_write_benchmarks_give_every_figure(benchmark: str, tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    done = run_bench("-m", benchmark, "--commands", "20", "--threads", "1,2", "--out", str(out))

    assert done.returncode == 0, f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
    runs = json.loads(out.read_text())
    assert [run["threads"] for run in runs] == [1, 2]
    assert all(math.isfinite(value) and value >= 0 for run in runs for value in run.values())


@pytest.mark.timeout(300)
def test_a_profiled_write_run_says_where_ledgerds_cpu_went_in_every_window(
    tmp_path: Path,
) -> None:
    out, profiles = tmp_path / "write.json", tmp_path / "profiles"
    done = run_bench(
        "bench/run.py", "--quick", "--backends", "sqlite", "--cases", "write",
        "--profile", str(profiles), "--out", str(out),
    )  # fmt: skip

    assert out.exists(), f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
    sampled = [row["detail"]["profile"] for row in json.loads(out.read_text())["rows"]]
    assert len(sampled) == 3  # the write case's three figures
    for profile in sampled:
        assert Path(profile["file"]).exists()
        assert profile["samples"] > 0
        assert profile["layers"]["command: save (eventsourcing, SQL, cipher)"] > 0
        assert 0 < profile["cpu_ms_per_command"] < 1000
