"""``workflows``, ``jobs`` and ``run`` through ``main()`` against a fake Ledger service:
what each sends and how each answer is printed, without a ledgerd (its own behaviour is
the integration tests')."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from cli.main import main
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1 import ledger_pb2_grpc

SECRET = "whsec-0123456789"


class FakeLedger(ledger_pb2_grpc.LedgerServicer):
    """Answers the workflow, job and command RPCs from canned data; keeps the requests."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.output: list[bytes] = []
        self.exit_code = 0
        self.job_states: list[pb.Job] = []
        self.cancelled = threading.Event()
        self.endless = False

    def _workflow(self, name: str) -> pb.Workflow:
        settings = pb.WorkflowSettings(repository="file:///srv/shop.git", apps=["shop"])
        return pb.Workflow(name=name, settings=settings, webhook_url="http://c/hooks/" + name)

    def CreateWorkflow(self, request: Any, context: Any) -> pb.WorkflowSecret:
        self.requests.append(request)
        return pb.WorkflowSecret(workflow=self._workflow(request.name), secret=SECRET)

    def UpdateWorkflow(self, request: Any, context: Any) -> pb.Workflow:
        self.requests.append(request)
        return self._workflow(request.name)

    def RunWorkflow(self, request: Any, context: Any) -> pb.Job:
        self.requests.append(request)
        return pb.Job(id="J1", workflow=request.name, status="queued")

    def GetJob(self, request: Any, context: Any) -> pb.Job:
        return self.job_states.pop(0) if len(self.job_states) > 1 else self.job_states[0]

    def RunCommand(self, request: Any, context: Any) -> Iterator[pb.RunCommandResponse]:
        self.requests.append(request)
        context.add_callback(self.cancelled.set)
        for chunk in self.output:
            yield pb.RunCommandResponse(output=chunk)
        while self.endless and context.is_active():
            yield pb.RunCommandResponse(output=b"tick\n")
            time.sleep(0.01)
        yield pb.RunCommandResponse(
            run_id="C1", release_id="R1", exited=True, exit_code=self.exit_code
        )


@pytest.fixture
def fake() -> Iterator[tuple[FakeLedger, str]]:
    ledger = FakeLedger()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    ledger_pb2_grpc.add_LedgerServicer_to_server(ledger, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield ledger, f"127.0.0.1:{port}"
    server.stop(None)


class Run:
    def __init__(self, address: str, stdout: Any = None) -> None:
        self.environ = {"LEDGER_HOST": address, "LEDGER_TOKEN": "t", "LEDGER_APP": "shop"}
        self.stdout = stdout or io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        self.stderr = io.StringIO()

    def __call__(self, *argv: str, stdin: str = "") -> int:
        return main(
            list(argv),
            stdout=self.stdout,
            stderr=self.stderr,
            environ=self.environ,
            stdin=io.StringIO(stdin),
        )

    @property
    def output(self) -> bytes:
        self.stdout.flush()
        return bytes(self.stdout.buffer.getvalue())


def test_creating_a_workflow_prints_its_webhook_url_and_secret_once_with_a_warning(
    fake: tuple[FakeLedger, str],
) -> None:
    _, address = fake
    run = Run(address)

    code = run("workflows", "create", "shop", "--repo", "file:///srv/shop.git", "--app", "shop")

    lines = run.output.decode().splitlines()
    assert code == 0
    assert lines[0] == "created workflow shop"
    assert lines[1].split() == ["Webhook", "URL", "http://c/hooks/shop"]
    assert lines[2].split() == ["Secret", SECRET]
    assert "save this secret now, it is not shown again" in run.stderr.getvalue()


def test_a_created_workflows_json_holds_the_workflow_its_secret_and_its_webhook_url(
    fake: tuple[FakeLedger, str],
) -> None:
    _, address = fake
    run = Run(address)

    run("--json", "workflows", "create", "shop", "--repo", "r", "--app", "shop")

    data = json.loads(run.output)
    assert data.keys() == {"workflow", "secret", "webhook_url"}
    assert (data["secret"], data["webhook_url"]) == (SECRET, "http://c/hooks/shop")
    assert data["workflow"]["name"] == "shop"


def test_credentials_come_from_stdin_and_never_from_the_command_line(
    fake: tuple[FakeLedger, str],
) -> None:
    ledger, address = fake
    argv = ["workflows", "create", "shop", "--repo", "r", "--app", "shop", "--credentials-stdin"]

    Run(address)(*argv, stdin="bot:s3cret-token\n")

    (request,) = ledger.requests
    assert request.credentials == "bot:s3cret-token"


def test_a_workflow_is_created_with_every_setting_given(fake: tuple[FakeLedger, str]) -> None:
    ledger, address = fake

    Run(address)(
        "workflows", "create", "shop", "--repo", "r", "--app", "shop", "--app", "api",
        "--branch", "trunk", "--promote", "manual", "--before-promote", "web: migrate",
        "--after-promote", "web:notify", "--review-apps", "--review-env", "DEBUG=1",
        "--wait-for-ci", "--poll", "5m", "--allow-forks",
    )  # fmt: skip

    settings = ledger.requests[0].settings
    assert list(settings.apps) == ["shop", "api"]
    assert (settings.branch, settings.promote, settings.poll_seconds) == ("trunk", "manual", 300)
    assert list(settings.before_promote) == ["web: migrate"]
    assert list(settings.after_promote) == ["web: notify"]
    assert (settings.review_apps, settings.wait_for_ci, settings.allow_forks) == (True,) * 3
    assert dict(settings.review_env) == {"DEBUG": "1"}


def test_an_update_names_only_the_settings_given(fake: tuple[FakeLedger, str]) -> None:
    ledger, address = fake

    code = Run(address)("workflows", "update", "shop", "--no-review-apps", "--poll", "0")

    (request,) = ledger.requests
    assert code == 0
    assert list(request.update_fields) == ["review_apps", "poll_seconds"]
    assert (request.settings.review_apps, request.settings.poll_seconds) == (False, 0)
    assert request.change_credentials is False


def test_an_update_that_empties_the_hooks_names_them_with_no_values(
    fake: tuple[FakeLedger, str],
) -> None:
    ledger, address = fake

    Run(address)("workflows", "update", "shop", "--no-after-promote")

    (request,) = ledger.requests
    assert list(request.update_fields) == ["after_promote"]
    assert list(request.settings.after_promote) == []


def test_an_update_with_no_credentials_removes_them(fake: tuple[FakeLedger, str]) -> None:
    ledger, address = fake

    Run(address)("workflows", "update", "shop", "--no-credentials")

    (request,) = ledger.requests
    assert (request.change_credentials, request.credentials) == (True, "")
    assert list(request.update_fields) == []


def test_running_a_workflow_prints_the_job_id_alone(fake: tuple[FakeLedger, str]) -> None:
    ledger, address = fake
    ledger.job_states = [pb.Job(id="J1", status="queued")]
    run = Run(address)

    code = run("workflows", "run", "shop", "--commit", "a" * 40)

    assert (code, run.output) == (0, b"J1\n")
    assert ledger.requests[0].commit == "a" * 40


def test_waiting_for_a_job_prints_its_steps_as_they_change_and_exits_0_when_it_succeeds(
    fake: tuple[FakeLedger, str],
) -> None:
    ledger, address = fake
    build = pb.JobStep(name="build", app="shop", status="running", detail="building")
    built = pb.JobStep(name="build", app="shop", status="succeeded", build_id="B1")
    promoted = pb.JobStep(name="promote", app="shop", status="succeeded", promotion_id="P1")
    ledger.job_states = [
        pb.Job(id="J1", status="running", steps=[build]),
        pb.Job(id="J1", status="succeeded", steps=[built, promoted]),
    ]
    run = Run(address)

    code = run("workflows", "run", "shop", "--wait")

    assert (code, run.output) == (0, b"J1\n")
    assert run.stderr.getvalue().splitlines() == [
        "job J1 queued",
        "build  shop  running  building",
        "job J1 running",
        "build  shop  succeeded",
        "promote  shop  succeeded",
        "job J1 succeeded",
    ]


def test_waiting_for_a_job_that_fails_exits_1_with_its_cause(fake: tuple[FakeLedger, str]) -> None:
    ledger, address = fake
    step = pb.JobStep(name="build", app="shop", status="failed", detail="no Dockerfile")
    ledger.job_states = [pb.Job(id="J1", status="failed", cause="build failed", steps=[step])]
    run = Run(address)

    code = run("workflows", "run", "shop", "--wait")

    assert code == 1
    assert run.stderr.getvalue().splitlines()[-1] == "ledgerctl: error: job J1 failed: build failed"


def test_a_one_off_commands_output_is_written_byte_for_byte(fake: tuple[FakeLedger, str]) -> None:
    ledger, address = fake
    ledger.output = [b"\xff\xfebinary\x00", b"second chunk\n"]
    run = Run(address)

    code = run("run", "web", "--release", "R9", "--timeout", "5m", "--", "cat", "/data")

    request = ledger.requests[0]
    assert code == 0
    assert run.output == b"\xff\xfebinary\x00second chunk\n"
    assert (request.app, request.service, list(request.command)) == (
        "shop",
        "web",
        ["cat", "/data"],
    )
    assert (request.release_id, request.timeout_seconds) == ("R9", 300)


def test_a_one_off_command_exits_with_the_commands_exit_code(fake: tuple[FakeLedger, str]) -> None:
    ledger, address = fake
    ledger.exit_code = 42
    run = Run(address)

    assert run("run", "web", "--", "false") == 42
    assert run.stderr.getvalue() == ""


def test_a_one_off_command_that_could_not_run_exits_1_with_a_message(
    fake: tuple[FakeLedger, str],
) -> None:
    ledger, address = fake
    ledger.exit_code = -1
    run = Run(address)

    code = run("run", "web", "--", "true")

    assert code == 1
    assert run.stderr.getvalue() == (
        "ledgerctl: error: the command could not be run: exit code -1 (run C1)\n"
    )


class Interrupting(io.BytesIO):
    """A terminal where the user presses Ctrl-C once output arrives."""

    def write(self, data: Any) -> int:
        raise KeyboardInterrupt


def test_ctrl_c_during_a_one_off_command_cancels_the_call_and_exits_130(
    fake: tuple[FakeLedger, str],
) -> None:
    ledger, address = fake
    ledger.endless = True
    run = Run(address, stdout=io.TextIOWrapper(Interrupting(), encoding="utf-8"))

    code = run("run", "web", "--", "sleep", "1000")

    assert code == 130
    assert ledger.cancelled.wait(5)
