"""Health, reflection, the ledgerd process, shutdown and rebuild: the service around the API."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import create_app, rpc_error
from tests.support.ledgerd import InProcessLedgerd, LedgerdProcess

SERVING = health_pb2.HealthCheckResponse.SERVING


def test_health_checking_reports_the_server_and_the_ledger_service_serving(
    ledgerd_channel: grpc.Channel,
) -> None:
    health = health_pb2_grpc.HealthStub(ledgerd_channel)

    for service in ("", "ledger.v1.Ledger"):
        response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == SERVING


def test_reflection_lists_the_ledger_service(ledgerd_channel: grpc.Channel) -> None:
    services = ProtoReflectionDescriptorDatabase(ledgerd_channel).get_services()

    assert "ledger.v1.Ledger" in services
    assert "grpc.health.v1.Health" in services


def test_a_watcher_is_told_to_resume_when_ledgerd_shuts_down(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client, "web")
    stream = ledgerd_client.WatchEvents(pb.WatchEventsRequest(), timeout=30)
    backlog = next(stream)
    assert backlog.events

    ledgerd.stop()

    error = rpc_error(lambda: [response for response in stream])
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert f"resume from position {backlog.events[-1].position}" in error.details()


def test_ledgerd_announces_itself_serves_and_stops_cleanly_on_sigterm(
    ledgerd_process: Callable[..., LedgerdProcess],
) -> None:
    process = ledgerd_process()
    announce = next(line for line in process.output if "listening on" in line)
    assert re.fullmatch(
        r"ledgerd \S+ listening on 127\.0\.0\.1:\d+ \(sqlite, runtime record, uvloop\)\n",
        announce,
    )
    with process.channel() as channel:
        assert create_app(LedgerStub(channel), "web").name == "web"

    assert process.stop() == 0


def test_ledgerd_serves_on_pythons_own_event_loop_when_told(
    ledgerd_process: Callable[..., LedgerdProcess],
) -> None:
    process = ledgerd_process({"LEDGER_EVENT_LOOP": "asyncio"})
    announce = next(line for line in process.output if "listening on" in line)
    assert announce.endswith("(sqlite, runtime record, asyncio)\n")
    with process.channel() as channel:
        assert create_app(LedgerStub(channel), "web").name == "web"

    assert process.stop() == 0


def test_bad_settings_are_one_line_on_stderr_and_exit_status_2(tmp_path: Path) -> None:
    result = _ledgerd(tmp_path, {"LEDGER_RUNTIME": "bogus"}, "serve")

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "LEDGER_RUNTIME" in result.stderr


def test_projections_rebuild_replays_the_log_and_prints_count_and_rate(
    ledgerd_process: Callable[..., LedgerdProcess], tmp_path: Path
) -> None:
    process = ledgerd_process()
    with process.channel() as channel:
        create_app(LedgerStub(channel), "web")
        before = LedgerStub(channel).GetApp(pb.GetAppRequest(name="web"))
    process.stop()

    result = _ledgerd(tmp_path, {}, "projections", "rebuild")

    assert result.returncode == 0, result.stderr
    assert re.search(
        r"rebuilt projections from \d+ events in [\d.]+ s \(\d+ events/s\)", result.stdout
    )
    with ledgerd_process().channel() as channel:
        assert LedgerStub(channel).GetApp(pb.GetAppRequest(name="web")) == before


def test_a_second_ledgerd_on_the_same_sqlite_data_dir_is_refused_and_changes_nothing(
    ledgerd_process: Callable[..., LedgerdProcess], tmp_path: Path
) -> None:
    process = ledgerd_process()
    with process.channel() as channel:
        create_app(LedgerStub(channel), "web")

    second = _ledgerd(tmp_path, {}, "serve")
    rebuild = _ledgerd(tmp_path, {}, "projections", "rebuild")

    for result in (second, rebuild):
        assert result.returncode == 1
        assert "another ledgerd is using the data dir" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    with process.channel() as channel:
        assert LedgerStub(channel).GetApp(pb.GetAppRequest(name="web")).name == "web"


def _ledgerd(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from server.main import main; main()", *args]
    environment = {
        "LEDGER_DATA": str(tmp_path / "ledger"),
        "LEDGER_LISTEN": "127.0.0.1:0",
        "LEDGER_CONSOLE_LISTEN": "127.0.0.1:0",
        **env,
    }
    return subprocess.run(
        command,
        env={**_base_env(), **environment},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}


def test_ledgerd_refuses_to_start_when_the_console_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _ledgerd(tmp_path, {"LEDGER_CONSOLE_LISTEN": f"127.0.0.1:{port}"}, "serve")

    assert result.returncode == 1
    assert f"the console cannot listen on 127.0.0.1:{port}" in result.stderr


def test_ledgerd_serves_without_a_console_when_it_is_turned_off(
    ledgerd_process: Callable[..., LedgerdProcess],
) -> None:
    process = ledgerd_process({"LEDGER_CONSOLE_LISTEN": "off"})

    assert process.console_url == ""
    assert not any("console" in line for line in process.output)
    with process.channel() as channel:
        create_app(LedgerStub(channel), "web")


def test_ledgerd_announces_its_console_and_the_console_answers(
    ledgerd_process: Callable[..., LedgerdProcess],
) -> None:
    process = ledgerd_process()

    with urllib.request.urlopen(process.console_url + "sign-in", timeout=10) as response:
        page = response.read().decode()
    assert response.status == 200
    assert "Deploy key token" in page
