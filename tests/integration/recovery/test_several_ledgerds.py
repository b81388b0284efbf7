"""Several ``ledgerd`` processes serve one PostgreSQL ledger.

Real subprocesses on one database, started at the same moment (each creates the tables
it needs at start-up, so they race for them), written to and read through over gRPC.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.recovery.support import (
    Projections,
    connected,
    eventually,
    projections_of,
)
from tests.integration.server.helpers import build, create_app, promote
from tests.support.ledgerd import LedgerdProcess

pytestmark = pytest.mark.postgres

SHARED_CIPHER_KEY = "c2hhcmVkLWtleS1vZi10aGUtdGVzdC1sZWRnZXIhISE="  # 32 bytes, base64
ROUNDS = 10
BURST = 15
StartLedgerd = Callable[..., LedgerdProcess]


def start_at_once(
    ledgerd_process: StartLedgerd, database_url: str, tmp_path: Path, count: int
) -> list[LedgerdProcess]:
    """``count`` ledgerd processes on ``database_url``, all started at the same moment."""
    barrier = threading.Barrier(count)

    def start(n: int) -> LedgerdProcess:
        env = {
            "LEDGER_DATABASE_URL": database_url,
            "LEDGER_DATA": str(tmp_path / f"ledgerd{n}"),
            "LEDGER_CIPHER_KEY": SHARED_CIPHER_KEY,  # processes of one ledger share its key
        }
        barrier.wait()
        return ledgerd_process(env)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


@pytest.fixture
def two_ledgerds(
    ledgerd_process: StartLedgerd, postgres_url: str, tmp_path: Path
) -> list[LedgerdProcess]:
    """Two ledgerd processes on one fresh PostgreSQL database, started at the same moment."""
    return start_at_once(ledgerd_process, postgres_url, tmp_path, 2)


def test_ledgerds_started_at_the_same_moment_on_a_fresh_database_all_serve(
    ledgerd_process: StartLedgerd, postgres_url: str, tmp_path: Path
) -> None:
    servers = start_at_once(ledgerd_process, postgres_url, tmp_path, 3)

    for n, server in enumerate(servers):
        with connected(server) as client:
            create_app(client, f"app{n}")
    with connected(servers[0]) as client:
        names = [app.name for app in client.ListApps(pb.ListAppsRequest()).apps]
    assert names == ["app0", "app1", "app2"]


def test_a_write_through_one_ledgerd_is_read_at_once_by_it_and_soon_by_the_other(
    two_ledgerds: list[LedgerdProcess],
) -> None:
    with connected(two_ledgerds[0]) as writer, connected(two_ledgerds[1]) as other:
        create_app(writer, "web")
        release_id = build(writer, "web", "web:1").release_id

        mine = writer.GetApp(pb.GetAppRequest(name="web"))
        assert mine.latest_release_id == release_id

        def seen_by_the_other() -> pb.App | None:
            listed = other.ListApps(pb.ListAppsRequest()).apps
            return next((app for app in listed if app.latest_release_id == release_id), None)

        theirs = eventually(seen_by_the_other, "the other ledgerd lists the release", 5.0)
    assert theirs == mine


def test_concurrent_env_edits_through_both_at_one_expected_version_have_exactly_one_winner(
    two_ledgerds: list[LedgerdProcess],
) -> None:
    with connected(two_ledgerds[0]) as first, connected(two_ledgerds[1]) as second:
        create_app(first, "web")
        clients = {"first": first, "second": second}
        barrier = threading.Barrier(len(clients))

        def edit(name: str, version: int) -> str:
            request = pb.UpdateEnvRequest(
                app="web", set={"OWNER": f"{name}-{version}"}, expected_version=version
            )
            barrier.wait()
            try:
                response = clients[name].UpdateEnv(request, timeout=10)
            except grpc.RpcError as error:
                return str(error.code().name)
            return f"version {response.env_version}"

        outcomes: list[dict[str, str]] = []
        with ThreadPoolExecutor(len(clients)) as pool:
            for version in range(ROUNDS):
                said = {name: pool.submit(edit, name, version) for name in clients}
                outcomes.append({name: future.result() for name, future in said.items()})
        winners = [next(name for name, said in r.items() if said != "ABORTED") for r in outcomes]

        assert [sorted(r.values()) for r in outcomes] == [
            ["ABORTED", f"version {version + 1}"] for version in range(ROUNDS)
        ]
        for client in (first, second):
            env = client.GetEnv(pb.GetEnvRequest(app="web", reveal=True))
            assert (env.version, dict(env.values)) == (
                ROUNDS,
                {"OWNER": f"{winners[-1]}-{ROUNDS - 1}"},
            )


def test_two_ledgerds_written_to_at_the_same_time_answer_with_the_same_projections(
    two_ledgerds: list[LedgerdProcess],
) -> None:
    with connected(two_ledgerds[0]) as first, connected(two_ledgerds[1]) as second:
        clients = [first, second]
        create_app(first, "web")
        promote(first, "web", build(second, "web", "web:1").release_id)

        def burst(n: int) -> None:
            for key in range(BURST):
                request = pb.UpdateEnvRequest(app="web", set={f"K{n}_{key}": "v"})
                clients[n].UpdateEnv(request, timeout=10)

        with ThreadPoolExecutor(len(clients)) as pool:
            list(pool.map(burst, range(len(clients))))

        def agreed() -> Projections | None:
            answers = [projections_of(client, "web") for client in clients]
            return answers[0] if answers[0] == answers[1] else None

        app, releases, logged = eventually(agreed, "both ledgerds answer the same", 5.0)
    writes = len(clients) * BURST
    assert app.env_version == writes
    assert len(releases) == 1 + writes
    assert len([event for event in logged if event.type == "EnvChanged"]) == writes
    positions = [event.position for event in logged]
    assert positions == sorted(set(positions))
