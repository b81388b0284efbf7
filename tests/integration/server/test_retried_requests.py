"""A retried request (same request_id) gets the original answer, whole, and records
nothing more: for every mutating RPC, through real gRPC, on SQLite and PostgreSQL.

Sent again after the first was applied (its answer lost on the way), or twice at once
(neither answer seen yet): both answers name the same change, and the request's events
(those carrying its request id) are recorded once.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from server.infra.settings import Settings
from tests.integration.server.helpers import all_events, create_app, rpc_error
from tests.integration.server.retries import CASES, Case, World, wait_job, workflow_of
from tests.support.git import Repository
from tests.support.ledgerd import InProcessLedgerd
from tests.support.postgres import PostgresServer, unique_database_name

CONCURRENT_TIMEOUT = 60


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One ledgerd per backend for the whole module (each case makes its own apps)."""
    root = tmp_path_factory.mktemp("retries")
    url = ""
    if request.param == "postgres":
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        url = postgres.create_database(unique_database_name("retried_requests"))
    settings = Settings(
        data_dir=root / "ledger",
        database_url=url,
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
    )
    sources = root / "src"
    sources.mkdir()
    (sources / "Dockerfile").write_text("FROM busybox\n")
    with InProcessLedgerd(settings) as server, server.channel() as channel:
        repo = Repository(root / "git")
        yield World(LedgerStub(channel), KeysStub(channel), repo, sources, itertools.count(1))


def events_of(world: World, request_id: str) -> list[pb.Event]:
    return [event for event in all_events(world.api) if event.request_id == request_id]


def send_settled(case: Case, world: World, target: Any, request_id: str) -> Any:
    response = case.send(world, target, request_id)
    case.settle(world, response)
    return response


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.rpc)
def test_a_request_sent_again_after_it_was_applied_gets_the_same_answer_and_records_nothing(
    world: World, case: Case
) -> None:
    target = case.prepare(world)
    request_id = str(uuid.uuid4())
    first = send_settled(case, world, target, request_id)
    recorded = events_of(world, request_id)

    again = send_settled(case, world, target, request_id)

    assert case.answer(again) == case.answer(first)
    assert recorded, "the request recorded nothing: the scenario tests nothing"
    assert events_of(world, request_id) == recorded


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.rpc)
def test_two_identical_requests_sent_at_once_get_the_same_answer_and_record_once(
    world: World, case: Case
) -> None:
    alone = str(uuid.uuid4())
    send_settled(case, world, case.prepare(world), alone)
    once = Counter(event.type for event in events_of(world, alone))
    target = case.prepare(world)
    request_id = str(uuid.uuid4())
    start = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        start.wait(CONCURRENT_TIMEOUT)
        answers.append(send_settled(case, world, target, request_id))

    senders = [threading.Thread(target=send) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(CONCURRENT_TIMEOUT)

    assert len(answers) == 2, "a sender failed or did not end"
    assert case.answer(answers[0]) == case.answer(answers[1])
    assert Counter(event.type for event in events_of(world, request_id)) == once


def test_an_env_change_sent_again_after_it_was_applied_answers_what_it_changed(
    world: World,
) -> None:
    app = world.name("env")
    create_app(world.api, app)
    change = pb.UpdateEnvRequest(app=app, set={"A": "1"}, unset=[], request_id="env-change-1")
    world.api.UpdateEnv(change)

    again = world.api.UpdateEnv(change)

    assert (again.env_version, list(again.added)) == (1, ["A"])


def test_a_request_id_used_again_for_a_change_that_is_already_made_is_refused(
    world: World,
) -> None:
    app = world.name("env")
    create_app(world.api, app)
    world.api.UpdateEnv(pb.UpdateEnvRequest(app=app, set={"A": "1"}, request_id=f"{app}-1"))
    head = all_events(world.api)[-1].position

    error = rpc_error(
        lambda: world.api.UpdateApp(pb.UpdateAppRequest(name=app, request_id=f"{app}-1"))
    )

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already used for a different request" in (error.details() or "")
    assert all_events(world.api)[-1].position == head


def test_a_run_of_a_branch_sent_again_after_a_push_gets_the_job_of_the_first_run(
    world: World,
) -> None:
    name, _ = workflow_of(world)
    run = pb.RunWorkflowRequest(name=name, request_id=f"{name}-run")
    first = world.api.RunWorkflow(run)
    wait_job(world, first)
    world.repo.commit({"VERSION": name}, f"A push after the run of {name}")

    again = world.api.RunWorkflow(run)

    assert (again.id, again.sha) == (first.id, first.sha)
