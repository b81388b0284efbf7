"""What the CLI sends and prints, checked against a scripted fake ledgerd over real gRPC."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from cli.main import main
from ledger_api.v1 import ledger_pb2 as pb

from .fake_ledger import FakeLedger, FakeServer


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running


@pytest.fixture
def ledger(server: FakeServer) -> FakeLedger:
    return server.ledger


class Run:
    """Calls ``main`` against the fake with captured output."""

    def __init__(self, server: FakeServer) -> None:
        self.environ = {"LEDGER_HOST": server.host, "LEDGER_APP": "web", "USER": "ann"}

    def __call__(self, *argv: str, **environ: str) -> tuple[int, str, str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=stdout, stderr=stderr, environ={**self.environ, **environ})
        return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def run(server: FakeServer) -> Run:
    return Run(server)


def step(position: int, kind: str, message: str) -> pb.PromotionStep:
    return pb.PromotionStep(
        position=position, time=Timestamp(seconds=1795721288), kind=kind, message=message
    )


def releases(count: int) -> list[pb.Release]:
    return [
        pb.Release(id=f"R{n}", app="web", version=n, build_id="B1", active=n == 2)
        for n in range(count, 0, -1)
    ]


# ---------------------------------------------------------------- metadata and retries


def test_every_call_names_the_actor_as_user_at_host(run: Run, ledger: FakeLedger) -> None:
    run("env")
    (_, _, metadata) = ledger.calls[0]
    assert metadata["x-ledger-actor"] == f"ann@{socket.gethostname()}"
    assert "authorization" not in metadata


def test_a_token_is_sent_as_a_bearer_authorization(run: Run, ledger: FakeLedger) -> None:
    run("--token", "s3cret", "env")
    assert ledger.calls[0][2]["authorization"] == "Bearer s3cret"


def test_the_token_may_come_from_ledger_token(run: Run, ledger: FakeLedger) -> None:
    run("env", LEDGER_TOKEN="from-env")
    assert ledger.calls[0][2]["authorization"] == "Bearer from-env"


def test_a_mutating_call_is_retried_after_unavailable_with_the_same_request_id(
    run: Run, ledger: FakeLedger
) -> None:
    ledger.script.unavailable["CreateApp"] = 2
    code, stdout, _ = run("apps", "create", "api")
    assert code == 0
    ids = [request.request_id for request in ledger.requests("CreateApp")]
    assert len(ids) == 3
    assert len(set(ids)) == 1
    assert len(ids[0]) == 32
    assert stdout == "created app api\n"


def test_each_mutating_command_gets_a_fresh_request_id(run: Run, ledger: FakeLedger) -> None:
    run("apps", "create", "a1")
    run("apps", "create", "a2")
    first, second = (r.request_id for r in ledger.requests("CreateApp"))
    assert first != second


def test_unavailable_after_all_retries_exits_4(run: Run, ledger: FakeLedger) -> None:
    ledger.script.unavailable["GetEnv"] = 10
    code, _, stderr = run("env")
    assert code == 4
    assert len(ledger.requests("GetEnv")) == 4
    assert stderr.startswith("ledgerctl: error: cannot reach ledgerd at 127.0.0.1:")


def test_a_refusal_exits_1_with_the_servers_details(run: Run) -> None:
    code, stdout, stderr = run("apps", "info", "nope")
    assert (code, stdout) == (1, "")
    assert stderr == "ledgerctl: error: app nope not found\n"


def test_the_app_may_be_given_after_the_verb(run: Run, ledger: FakeLedger) -> None:
    run("env", "-a", "other")
    assert ledger.requests("GetEnv")[0].app == "other"


# ---------------------------------------------------------------- lists and rendering


def test_releases_json_fetches_pages_until_the_end(run: Run, ledger: FakeLedger) -> None:
    ledger.script.releases = releases(5)
    code, stdout, _ = run("--json", "releases")
    assert code == 0
    data = json.loads(stdout)
    assert [r["version"] for r in data] == [5, 4, 3, 2, 1]
    assert len(ledger.requests("ListReleases")) == 3


def test_releases_stop_at_the_limit(run: Run, ledger: FakeLedger) -> None:
    ledger.script.releases = releases(5)
    _, stdout, _ = run("releases", "--json", "--limit", "3")
    assert [r["id"] for r in json.loads(stdout)] == ["R5", "R4", "R3"]


def test_releases_table_marks_the_active_release(run: Run, ledger: FakeLedger) -> None:
    ledger.script.releases = releases(3)
    _, stdout, _ = run("releases")
    lines = stdout.splitlines()
    assert lines[0].split()[:2] == ["VERSION", "ID"]
    assert [line.startswith("*") for line in lines[1:]] == [False, True, False]


def test_releases_info_json_includes_the_env(run: Run, ledger: FakeLedger) -> None:
    ledger.script.releases = [pb.Release(id="R1", version=1, env={"A": "1"})]
    _, stdout, _ = run("--json", "releases", "info", "R1")
    assert json.loads(stdout)["env"] == {"A": "1"}


def test_env_prints_sorted_key_value_lines(run: Run, ledger: FakeLedger) -> None:
    ledger.script.env = pb.Env(app="web", version=4, values={"B": "2", "A": "x=y"})
    assert run("env")[1] == "A=x=y\nB=2\n"
    assert json.loads(run("--json", "env")[1]) == {"version": 4, "env": {"A": "x=y", "B": "2"}}


def test_env_get_prints_the_value_or_fails_when_absent(run: Run, ledger: FakeLedger) -> None:
    ledger.script.env = pb.Env(app="web", version=4, values={"A": "1"})
    assert run("env", "get", "A")[:2] == (0, "1\n")
    code, _, stderr = run("env", "get", "B")
    assert code == 1
    assert stderr == "ledgerctl: error: B is not set in the environment of web\n"


def test_env_set_sends_pairs_and_expected_version(run: Run, ledger: FakeLedger) -> None:
    code, stdout, _ = run("--json", "env", "set", "A=1", "B=x=y", "--expect-version", "3")
    assert code == 0
    request = ledger.requests("UpdateEnv")[0]
    assert dict(request.set) == {"A": "1", "B": "x=y"}
    assert request.HasField("expected_version")
    assert request.expected_version == 3
    assert request.request_id
    assert json.loads(stdout) == {
        "env_version": 2,
        "added": ["A", "B"],
        "changed": [],
        "removed": [],
        "release": None,
        "promotion": None,
    }


def test_env_set_without_expect_version_sends_none(run: Run, ledger: FakeLedger) -> None:
    run("env", "set", "A=1")
    assert not ledger.requests("UpdateEnv")[0].HasField("expected_version")


def test_apps_info_at_a_position_asks_as_of_that_position(run: Run, ledger: FakeLedger) -> None:
    ledger.script.active = pb.GetActiveReleaseResponse(
        release=pb.Release(id="R1", version=1), position=42
    )
    code, stdout, _ = run("--json", "apps", "info", "web", "--at", "42")
    assert code == 0
    assert ledger.requests("GetActiveRelease")[0].as_of_position == 42
    data = json.loads(stdout)
    assert data["active_release"]["id"] == "R1"
    assert data["as_of_position"] == 42


def test_apps_info_at_a_time_asks_as_of_that_time(run: Run, ledger: FakeLedger) -> None:
    _, stdout, _ = run("apps", "info", "web", "--at", "2026-11-26T19:28:08Z")
    request = ledger.requests("GetActiveRelease")[0]
    assert request.as_of_time.seconds == 1795721288
    assert "Active release as of 2026-11-26T19:28:08Z  none" in stdout


def test_history_json_has_parsed_data_and_sends_the_filters(run: Run, ledger: FakeLedger) -> None:
    ledger.script.events = [
        pb.Event(position=1, type="AppCreated", app="web", actor="ann", data='{"name":"web"}')
    ]
    _, stdout, _ = run("--json", "history", "--type", "AppCreated", "--since", "2h")
    assert json.loads(stdout)[0]["data"] == {"name": "web"}
    request = ledger.requests("ListEvents")[0]
    assert list(request.types) == ["AppCreated"]
    assert request.HasField("since")
    assert not request.HasField("until")
    assert request.app == "web"


def test_builds_logs_writes_the_bytes(run: Run, ledger: FakeLedger) -> None:
    ledger.script.log_chunks = [b"step 1\n", b"step 2\n"]
    assert run("builds", "logs", "B1")[:2] == (0, "step 1\nstep 2\n")


# ---------------------------------------------------------------- build, deploy, wait


def test_build_prints_build_and_release_ids(run: Run, ledger: FakeLedger) -> None:
    code, stdout, _ = run("build", "--image", "nginx:1", "-d", "first")
    assert code == 0
    assert stdout.split() == ["build", "B1", "succeeded", "release", "R3"]
    metadata = ledger.requests("CreateBuild")[0][0].metadata
    assert (metadata.app, metadata.image, metadata.description) == ("web", "nginx:1", "first")
    assert metadata.request_id


def test_build_id_prints_only_the_release_id(run: Run) -> None:
    assert run("build", "--image", "nginx:1", "--id")[:2] == (0, "R3\n")


def test_build_json_has_build_and_release_id(run: Run) -> None:
    data = json.loads(run("--json", "build", "--image", "nginx:1")[1])
    assert data["release_id"] == "R3"
    assert data["build"]["id"] == "B1"


def test_a_failed_build_exits_1_with_its_error(run: Run, ledger: FakeLedger) -> None:
    ledger.script.build = pb.Build(id="B1", app="web", status="failed", error="no such image")
    code, _, stderr = run("build", "--image", "nope")
    assert code == 1
    assert stderr == "ledgerctl: error: build B1 failed: no such image\n"


def test_promote_without_a_release_sends_an_empty_release_id(run: Run, ledger: FakeLedger) -> None:
    code, stdout, _ = run("releases", "promote")
    assert code == 0
    assert ledger.requests("PromoteRelease")[0].release_id == ""
    assert stdout == "promotion P1 of R3 pending\n"


def test_promote_timeout_is_the_promotion_deadline(run: Run, ledger: FakeLedger) -> None:
    run("releases", "promote", "R2", "--timeout", "120")
    assert ledger.requests("PromoteRelease")[0].deadline_seconds == 120


def test_wait_prints_each_new_step_and_exits_0_on_success(run: Run, ledger: FakeLedger) -> None:
    running = pb.Promotion(
        id="P1", app="web", release_id="R2", status="running", steps=[step(1, "started", "go")]
    )
    done = pb.Promotion(
        id="P1",
        app="web",
        release_id="R2",
        status="succeeded",
        steps=[step(1, "started", "go"), step(2, "healthy", "web ok")],
    )
    ledger.script.promotion_polls = [running, running, done]
    code, stdout, stderr = run("releases", "promote", "R2", "--wait")
    assert code == 0
    assert stdout == "promotion P1 of R2 succeeded\n"
    assert stderr.splitlines() == [
        "2026-11-26T19:28:08Z  started  go",
        "2026-11-26T19:28:08Z  healthy  web ok",
    ]


def test_wait_exits_3_with_the_reason_when_the_promotion_rolled_back(
    run: Run, ledger: FakeLedger
) -> None:
    ledger.script.promotion_polls = [
        pb.Promotion(id="P1", app="web", status="rolled_back", reason="health check failed")
    ]
    code, _, stderr = run("--json", "releases", "promote", "R2", "--wait")
    assert code == 3
    assert stderr == "ledgerctl: error: promotion P1 rolled_back: health check failed\n"


def test_deploy_builds_then_promotes_the_builds_release(run: Run, ledger: FakeLedger) -> None:
    ledger.script.promotion_polls = [
        pb.Promotion(id="P1", app="web", release_id="R3", status="succeeded")
    ]
    code, stdout, _ = run("--json", "deploy", "--image", "nginx:1", "--wait")
    assert code == 0
    assert ledger.requests("PromoteRelease")[0].release_id == "R3"
    data = json.loads(stdout)
    assert data["build"]["release_id"] == "R3"
    assert data["promotion"]["status"] == "succeeded"


def test_rollback_json_has_the_new_release_and_its_promotion(run: Run, ledger: FakeLedger) -> None:
    code, stdout, _ = run("--json", "releases", "rollback", "R1")
    assert code == 0
    data = json.loads(stdout)
    assert data["release"]["parent_id"] == "R1"
    assert data["release"]["reason"] == "rollback"
    assert data["promotion"]["id"] == "P2"
    assert ledger.requests("RollbackRelease")[0].request_id


def test_promotions_cancel_sends_a_request_id(run: Run, ledger: FakeLedger) -> None:
    code, stdout, _ = run("promotions", "cancel", "P1")
    assert code == 0
    assert stdout == "promotion P1 of - cancelled\n"
    assert ledger.requests("CancelPromotion")[0].request_id


def test_releases_diff_lists_env_keys_but_no_values(run: Run) -> None:
    _, stdout, _ = run("releases", "diff", "R1", "R2")
    assert stdout.splitlines()[2:] == ["build changed", "+ NEW", "- OLD"]


def test_rack_releases_json(run: Run) -> None:
    _, stdout, _ = run("--json", "rack", "releases")
    assert json.loads(stdout) == [
        {"version": "0.1.0", "started_at": "1970-01-01T00:00:00.000000Z", "position": 1}
    ]


def test_apps_and_builds_tables_have_headers(run: Run) -> None:
    assert run("apps")[1].splitlines()[0].split()[:2] == ["NAME", "ACTIVE"]
    assert run("builds")[1].splitlines()[0].split()[:3] == ["ID", "STATUS", "RELEASE"]


# ---------------------------------------------------------------- watch


def event(position: int) -> pb.Event:
    return pb.Event(position=position, type="EnvChanged", app="web", data="{}")


def test_watch_resumes_after_a_dropped_stream_without_repeating_events(
    run: Run, ledger: FakeLedger
) -> None:
    ledger.script.watch_connections = [
        [pb.WatchEventsResponse(events=[event(1), event(2)], head_position=2), "UNAVAILABLE"],
        [pb.WatchEventsResponse(events=[event(3)], head_position=3)],
        [],
    ]
    code, stdout, _ = run("--json", "watch", "--from", "0")
    assert code == 0
    assert [json.loads(line)["position"] for line in stdout.splitlines()] == [1, 2, 3]
    assert [r.from_position for r in ledger.requests("WatchEvents")] == [0, 2, 3]
