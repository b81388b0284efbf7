"""Text that a database cannot store, on SQLite and on PostgreSQL.

PostgreSQL refuses NUL bytes in text, and the projections store descriptions and image
references as text: one NUL accepted into the log would stop the projections, and with
them every command of every app (each waits for its write to be projected). So such text
is refused before anything is recorded, and malformed ids never reach a query.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import build, create_app, rpc_error
from tests.integration.server.hostile import check_refusal
from tests.support.auth import bearer, create_key
from tests.support.ledgerd import InProcessLedgerd

NUL = "\x00"


def image_build(app: str, image: str, description: str = "") -> list[pb.CreateBuildRequest]:
    metadata = pb.BuildMetadata(app=app, image=image, description=description)
    return [pb.CreateBuildRequest(metadata=metadata)]


def test_text_with_a_nul_byte_is_refused_and_the_ledger_keeps_recording(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    client = ledgerd_client
    create_app(client, "web")
    release = build(client, "web", "web:1").release_id
    changes: list[Callable[[], object]] = [
        lambda: client.CreateBuild(iter(image_build("web", "web:2", f"fix{NUL}"))),
        lambda: client.CreateBuild(iter(image_build("web", f"web:{NUL}3"))),
        lambda: client.PromoteRelease(
            pb.PromoteReleaseRequest(app="web", release_id=release, description=NUL)
        ),
        lambda: client.RollbackRelease(
            pb.RollbackReleaseRequest(app="web", release_id=release, description=f"a{NUL}b")
        ),
        lambda: client.UpdateEnv(
            pb.UpdateEnvRequest(app="web", set={"A": "b"}, description=f"{NUL}")
        ),
    ]
    before = ledgerd.container.ledger.head()

    for change in changes:
        error = rpc_error(change)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        check_refusal(error, ())

    assert ledgerd.container.ledger.head() == before
    assert create_app(client, "api").name == "api"  # projections still follow the log


@pytest.mark.parametrize("bad_id", ["B\x00", "R\x00AAAAAAAAA", "\x00"])
def test_a_malformed_id_from_a_key_limited_to_some_apps_never_reaches_a_query(
    ledgerd: InProcessLedgerd, ledgerd_channel: grpc.Channel, bad_id: str
) -> None:
    client = LedgerStub(ledgerd_channel)
    create_app(client, "web")
    _, token = create_key(ledgerd_channel, "viewer", "reader", "web")
    as_reader = bearer(token)
    calls: list[Callable[[], object]] = [
        lambda: client.GetBuild(pb.GetBuildRequest(id=bad_id), metadata=as_reader),
        lambda: client.GetRelease(pb.GetReleaseRequest(id=bad_id), metadata=as_reader),
        lambda: client.GetPromotion(pb.GetPromotionRequest(id=bad_id), metadata=as_reader),
        lambda: client.DiffReleases(
            pb.DiffReleasesRequest(from_release_id=bad_id, to_release_id=bad_id),
            metadata=as_reader,
        ),
        lambda: list(
            client.StreamBuildLogs(pb.StreamBuildLogsRequest(id=bad_id), metadata=as_reader)
        ),
    ]

    for call in calls:
        error = rpc_error(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        check_refusal(error, ())


@pytest.mark.parametrize("bad_name", ["w\x00", "\x00", "shop-ci\x00"])
def test_a_malformed_workflow_name_or_job_id_from_an_app_limited_key_never_reaches_a_query(
    ledgerd: InProcessLedgerd, ledgerd_channel: grpc.Channel, bad_name: str
) -> None:
    client = LedgerStub(ledgerd_channel)
    create_app(client, "web")
    _, token = create_key(ledgerd_channel, "web-ci", "deployer", "web")
    as_deployer = bearer(token)
    bad_job = "J" + bad_name
    calls: dict[str, Callable[[], object]] = {
        "GetWorkflow": lambda: client.GetWorkflow(
            pb.GetWorkflowRequest(name=bad_name), metadata=as_deployer
        ),
        "UpdateWorkflow": lambda: client.UpdateWorkflow(
            pb.UpdateWorkflowRequest(name=bad_name), metadata=as_deployer
        ),
        "DeleteWorkflow": lambda: client.DeleteWorkflow(
            pb.DeleteWorkflowRequest(name=bad_name), metadata=as_deployer
        ),
        "RotateWorkflowSecret": lambda: client.RotateWorkflowSecret(
            pb.RotateWorkflowSecretRequest(name=bad_name), metadata=as_deployer
        ),
        "ResumeWorkflow": lambda: client.ResumeWorkflow(
            pb.ResumeWorkflowRequest(name=bad_name), metadata=as_deployer
        ),
        "RunWorkflow": lambda: client.RunWorkflow(
            pb.RunWorkflowRequest(name=bad_name), metadata=as_deployer
        ),
        "ListJobs": lambda: client.ListJobs(
            pb.ListJobsRequest(workflow=bad_name), metadata=as_deployer
        ),
        "GetJob": lambda: client.GetJob(pb.GetJobRequest(id=bad_job), metadata=as_deployer),
        "RerunJob": lambda: client.RerunJob(pb.RerunJobRequest(id=bad_job), metadata=as_deployer),
    }
    before = ledgerd.container.ledger.head()

    errors = {name: rpc_error(call) for name, call in calls.items()}

    assert {name: error.code() for name, error in errors.items()} == dict.fromkeys(
        calls, grpc.StatusCode.INVALID_ARGUMENT
    )
    for error in errors.values():
        check_refusal(error, ())
    assert ledgerd.container.ledger.head() == before


def test_text_with_a_nul_byte_in_a_workflow_is_refused_and_the_ledger_keeps_recording(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    client = ledgerd_client
    create_app(client, "web")

    def settings(**fields: object) -> pb.WorkflowSettings:
        return pb.WorkflowSettings(**{"repository": "/no/web.git", "apps": ["web"], **fields})

    requests = [
        pb.CreateWorkflowRequest(name="web-ci", settings=settings(repository=f"/no/{NUL}")),
        pb.CreateWorkflowRequest(name="web-ci", settings=settings(branch=f"main{NUL}")),
        pb.CreateWorkflowRequest(
            name="web-ci", settings=settings(before_promote=[f"web: migrate{NUL}"])
        ),
        pb.CreateWorkflowRequest(name="web-ci", settings=settings(review_env={"A": f"b{NUL}"})),
        pb.CreateWorkflowRequest(name="web-ci", settings=settings(), credentials=f"t{NUL}k"),
    ]
    before = ledgerd.container.ledger.head()

    for request in requests:
        error = rpc_error(lambda request=request: client.CreateWorkflow(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        check_refusal(error, ())

    assert ledgerd.container.ledger.head() == before
    assert create_app(client, "api").name == "api"  # projections still follow the log
