"""The CI recipes of docs/ci, run for real: their shell steps, in order, against ledgerd.

The test plays the CI runner. It reads ``docs/ci/github-actions.yml`` and
``docs/ci/circleci.yml``, keeps the shell steps of a job (``run:`` / ``command:``; the
``uses:`` actions and ``checkout`` are replaced by what the test sets up: the app's source
in a temporary directory as the working directory, and a Python on PATH), gives them the
environment the recipe declares (``${{ secrets.X }}``, ``${{ vars.X || 'default' }}``,
``<< parameters.X >>`` resolved from the test's settings) and runs each with
``bash -euo pipefail``. The settings are those of a real user: ``LEDGER_HOST`` and a
deployer key of the app, and ``ledgerctl`` installed by the recipe's own pip step from
``clients/ledgerctl`` into a fresh venv, first on PATH, so the CLI-only distribution is
what deploys. ledgerd runs on the Docker runtime, as deploying a directory needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from tests.e2e.conftest import Deployment
from tests.support.docker import (
    HTTP_APP,
    NEVER_HEALTHY_APP,
    docker_client,
    remove_app,
    unique_app,
    write_context,
)

__all__ = ["docker_client"]

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "docs" / "ci"
CLIENT = REPO / "clients" / "ledgerctl"
SERVER_ONLY = {
    "eventsourcing",
    "psycopg",
    "starlette",
    "hypercorn",
    "jinja2",
    "grpcio-health-checking",
}
STEP_TIMEOUT = 300
MANIFEST = """\
services:
  web:
    port: 8000
    health: {path: /health, grace: 2, interval: 0.2, timeout: 1}
"""
GITHUB_EXPRESSION = re.compile(r"^\$\{\{\s*(.+?)\s*\}\}$")
CIRCLECI_PARAMETER = re.compile(r"<<\s*parameters\.([\w-]+)\s*>>")
RELEASE_ID = r"R[A-Z0-9]{10}"


@dataclass
class Step:
    """One shell step of a job: its command and its own env (still unresolved)."""

    name: str
    run: str
    env: dict[str, str] = field(default_factory=dict)
    id: str = ""


@dataclass
class StepResult:
    step: Step
    code: int
    out: str
    err: str
    github_output: str  # what the step wrote to $GITHUB_OUTPUT

    @property
    def outputs(self) -> dict[str, str]:
        pairs = (line.partition("=") for line in self.github_output.splitlines())
        return {key: value for key, _, value in pairs}


# --- reading the recipes ---


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((RECIPES / name).read_text())
    return data


def github_job(name: str) -> tuple[dict[str, str], list[Step]]:
    """The env (workflow's, then the job's) and the shell steps of a GitHub Actions job."""
    workflow = load("github-actions.yml")
    assert workflow["defaults"]["run"]["shell"] == "bash"
    job = workflow["jobs"][name]
    env = {**workflow.get("env", {}), **job.get("env", {})}
    steps = [
        Step(s.get("name", s["run"]), s["run"], dict(s.get("env", {})), s.get("id", ""))
        for s in job["steps"]
        if "run" in s
    ]
    skipped = [s["uses"].split("@")[0] for s in job["steps"] if "run" not in s]
    assert set(skipped) <= {"actions/checkout", "actions/setup-python"}, skipped
    return env, steps


def circleci_job(name: str, parameters: Mapping[str, str]) -> tuple[dict[str, str], list[Step]]:
    """The env and shell steps of a CircleCI job, its ``<< parameters.X >>`` filled in."""
    job = load("circleci.yml")["jobs"][name]
    declared = job.get("parameters", {})
    values = {k: str(v["default"]) for k, v in declared.items() if "default" in v}
    values.update(parameters)
    assert set(values) == set(declared), (
        f"parameters without a value: {set(declared) - set(values)}"
    )

    def fill(text: str) -> str:
        return CIRCLECI_PARAMETER.sub(lambda m: values[m.group(1)], text)

    assert job["docker"][0]["image"].startswith("cimg/python:")
    env = {k: fill(str(v)) for k, v in job.get("environment", {}).items()}
    steps = []
    for step in job["steps"]:
        if step == "checkout":
            continue
        run = step["run"]
        steps.append(Step(run.get("name", run["command"]), fill(run["command"])))
    return env, steps


def resolve(value: str, context: Mapping[str, Any]) -> str:
    """A GitHub Actions env value: ``${{ a.b || 'default' }}`` looked up in ``context``
    (secrets, vars, steps, needs); anything else is taken as it is."""
    match = GITHUB_EXPRESSION.match(value.strip())
    if match is None:
        assert "${{" not in value, f"unsupported expression in {value!r}"
        return value
    for alternative in (a.strip() for a in match.group(1).split("||")):
        if alternative[:1] == alternative[-1:] == "'":
            return alternative[1:-1]
        found: Any = context
        for part in alternative.split("."):
            found = found.get(part, {}) if isinstance(found, Mapping) else {}
        if found and isinstance(found, str):
            return found
    return ""


# --- running them ---


def machine_env(venv: Path) -> dict[str, str]:
    """The runner machine's environment: ours, without our venv or ledger settings, with
    the test's venv first on PATH."""
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "BASH_ENV")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(("LEDGER_", "GITHUB_", "CIRCLE"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["CI"] = "true"
    return env


def run_steps(steps: list[Step], env: Mapping[str, str], cwd: Path) -> list[StepResult]:
    """Run the steps in order with ``bash -euo pipefail``, stopping at the first failure as
    a CI job does; each step gets a fresh ``GITHUB_OUTPUT`` file."""
    results: list[StepResult] = []
    for step in steps:
        handle, name = tempfile.mkstemp(prefix="github-output-", dir=cwd.parent)
        os.close(handle)
        output = Path(name)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", step.run],
            env={**env, **step.env, "GITHUB_OUTPUT": str(output)},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        written = output.read_text()
        output.unlink()
        results.append(StepResult(step, done.returncode, done.stdout, done.stderr, written))
        if done.returncode != 0:
            break
    return results


def failure(results: list[StepResult]) -> str:
    last = results[-1]
    return f"step {last.step.name!r} exited {last.code}:\n{last.out}\n{last.err}"


@dataclass
class Runner:
    """Plays GitHub Actions and CircleCI for one app on one ledgerd."""

    venv: Path
    spec: str  # what the recipes' pip steps install: the wheel built from clients/ledgerctl
    checkout: Path
    host: str
    token: str
    app: str

    def github(
        self, job: str, needs: Mapping[str, Mapping[str, str]] | None = None
    ) -> tuple[list[StepResult], dict[str, str]]:
        """Run a GitHub Actions job; its results and its outputs."""
        env, steps = github_job(job)
        context: dict[str, Any] = {
            "secrets": {"LEDGER_HOST": self.host, "LEDGER_TOKEN": self.token},
            "vars": {"LEDGER_APP": self.app, "LEDGERCTL_PIP_SPEC": self.spec},
            "needs": {name: {"outputs": dict(outputs)} for name, outputs in (needs or {}).items()},
            "steps": {},
        }
        runner_env = {
            **machine_env(self.venv),
            "GITHUB_SHA": "0" * 40,
            "GITHUB_REPOSITORY": "owner/shop",
            **{k: resolve(v, context) for k, v in env.items()},
        }
        results: list[StepResult] = []
        for step in steps:  # one at a time: a step's env may read earlier steps' outputs
            resolved = Step(
                step.name, step.run, {k: resolve(v, context) for k, v in step.env.items()}
            )
            (result,) = run_steps([resolved], runner_env, self.checkout)
            results.append(result)
            if step.id:
                context["steps"][step.id] = {"outputs": result.outputs}
            if result.code != 0:
                break
        declared = load("github-actions.yml")["jobs"][job].get("outputs", {})
        return results, {k: resolve(v, context) for k, v in declared.items()}

    def circleci(self, job: str) -> tuple[list[StepResult], Path]:
        """Run a CircleCI job (context: LEDGER_HOST, LEDGER_TOKEN); its results and the
        ``BASH_ENV`` file its steps exported to."""
        parameters = {"app": self.app, "ledgerctl": self.spec}
        env, steps = circleci_job(job, parameters)
        bash_env = self.checkout.parent / "bash-env"
        bash_env.write_text("")
        runner_env = {
            **machine_env(self.venv),
            "LEDGER_HOST": self.host,  # the context
            "LEDGER_TOKEN": self.token,
            "CIRCLE_SHA1": "0" * 40,
            "CIRCLE_PROJECT_REPONAME": "shop",
            "BASH_ENV": str(bash_env),  # sourced by every step's bash, as on CircleCI
            **env,
        }
        return run_steps(steps, runner_env, self.checkout), bash_env


# --- fixtures ---


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding ledgerctl as the recipe installs it (once per module).

    The package is built from ``clients/ledgerctl`` once, into a wheel that stands for the
    recipe's pip spec (``LEDGERCTL_PIP_SPEC``) from then on: every job still runs its
    install step, without building the package again each time."""
    root = tmp_path_factory.mktemp("ci")
    path = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    built = subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "wheel", "--no-deps", "-q", "-w",
         str(root / "wheels"), str(CLIENT)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "wheels").glob("ledgerctl-*.whl")
    env, steps = github_job("deploy")
    (install,) = [s for s in steps if "pip install" in s.run]
    spec = resolve(env["LEDGERCTL_PIP_SPEC"], {"vars": {"LEDGERCTL_PIP_SPEC": str(wheel)}})
    results = run_steps([install], {**machine_env(path), "LEDGERCTL_PIP_SPEC": spec}, path.parent)
    assert results[-1].code == 0, failure(results)
    listed = subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    names = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert "ledgerctl" in names
    assert not names & SERVER_ONLY, f"the CLI-only package pulled in {names & SERVER_ONLY}"
    return path


@pytest.fixture
def runner(
    venv: Path, deployment: Deployment, docker_client: docker.DockerClient, tmp_path: Path
) -> Iterator[Runner]:
    """A deployer key of a fresh app on a ledgerd of the Docker runtime, and the app's
    source checked out in a directory of its own."""
    app = unique_app("ci")
    deployment.ctl("apps", "create", app)
    created = deployment.ctl("keys", "create", "--name", "ci", "--role", "deployer", "--app", app)
    token = created.out.splitlines()[-1]
    assert token.startswith("dl_")
    assert deployment.process is not None
    checkout = write_context(tmp_path / "checkout", HTTP_APP, {"ledger.yml": MANIFEST})
    (wheel,) = (venv.parent / "wheels").glob("ledgerctl-*.whl")
    yield Runner(venv, str(wheel), checkout, deployment.process.address, token, app)
    remove_app(docker_client, app)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """ledgerd on the Docker runtime (SQLite)."""
    env = {"LEDGER_DATA": str(tmp_path / "data"), "LEDGER_RUNTIME": "docker"}
    deployment = Deployment(env=env, cwd=tmp_path)
    deployment.start()
    yield deployment
    for process in deployment.started:
        process.stop()


def active(d: Deployment, app: str) -> str | None:
    release: str | None = d.js("apps", "info", app)["active_release_id"]
    return release


# --- the tests ---


def test_the_github_deploy_job_deploys_the_checkout_and_outputs_the_release(
    runner: Runner, deployment: Deployment
) -> None:
    results, outputs = runner.github("deploy")

    assert results[-1].code == 0, failure(results)
    assert [r.step.name for r in results] == ["Install ledgerctl", "Build and deploy"]
    assert shutil.which("ledgerctl", path=machine_env(runner.venv)["PATH"]) == str(
        runner.venv / "bin" / "ledgerctl"
    )
    deploy = results[-1]
    assert re.fullmatch(rf"release={RELEASE_ID}\n", deploy.github_output)
    release = deploy.outputs["release"]
    assert outputs == {"release": release}
    assert active(deployment, runner.app) == release
    assert deploy.out == f"deployed {release} to {runner.app}\n"
    assert "FROM scratch" in deploy.err  # the build log went to the job's log, on stderr
    build = deployment.js("-a", runner.app, "releases", "info", release)["build_id"]
    assert deployment.js("-a", runner.app, "builds", "info", build)["description"] == (
        f"owner/shop@{'0' * 40}"
    )


def test_the_github_build_then_promote_variant_goes_live_only_at_the_promote_job(
    runner: Runner, deployment: Deployment
) -> None:
    built, outputs = runner.github("build")

    assert built[-1].code == 0, failure(built)
    release = outputs["release"]
    assert re.fullmatch(RELEASE_ID, release)
    assert active(deployment, runner.app) is None

    promoted, _ = runner.github("promote", needs={"build": outputs})

    assert promoted[-1].code == 0, failure(promoted)
    assert active(deployment, runner.app) == release


def test_the_circleci_deploy_job_deploys_the_checkout(
    runner: Runner, deployment: Deployment
) -> None:
    results, bash_env = runner.circleci("deploy")

    assert results[-1].code == 0, failure(results)
    assert [r.step.name for r in results] == ["Install ledgerctl", "Build and deploy", "Deployed"]
    (line,) = bash_env.read_text().splitlines()
    match = re.fullmatch(rf"export LEDGER_RELEASE=({RELEASE_ID})", line)
    assert match is not None, line
    release = match.group(1)
    assert active(deployment, runner.app) == release
    assert results[-1].out == f"deployed {release} to {runner.app}\n"


def test_a_deploy_whose_health_check_fails_fails_the_step_and_outputs_no_release(
    runner: Runner, deployment: Deployment
) -> None:
    write_context(runner.checkout, NEVER_HEALTHY_APP)

    results, outputs = runner.github("deploy")

    deploy = results[-1]
    assert deploy.step.name == "Build and deploy"
    assert deploy.code == 3, failure(results)
    assert deploy.outputs == {} and outputs == {"release": ""}
    assert "ledgerctl: error: promotion" in deploy.err and "404" in deploy.err
    assert active(deployment, runner.app) is None
    (release,) = deployment.js("-a", runner.app, "releases")
    assert release["active"] is False
