"""ListTasks through real gRPC on the record runtime, which runs nothing: an app's tasks
are none, asking records nothing, and an unknown app is NOT_FOUND. (Tasks that run are
the docker and swarm runtimes': tests/integration/runtime/, tests/e2e/test_ps.py.)"""

from __future__ import annotations

import grpc

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import all_events, create_app, deploy, rpc_error


def test_an_app_on_the_record_runtime_has_no_tasks_and_asking_appends_nothing(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    deploy(ledgerd_client, "web", "web:1")
    before = all_events(ledgerd_client)

    response = ledgerd_client.ListTasks(pb.ListTasksRequest(app="web"))

    assert list(response.tasks) == []
    assert all_events(ledgerd_client) == before


def test_the_tasks_of_an_unknown_app_are_not_found(ledgerd_client: LedgerStub) -> None:
    error = rpc_error(lambda: ledgerd_client.ListTasks(pb.ListTasksRequest(app="nope")))

    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "app nope not found"
