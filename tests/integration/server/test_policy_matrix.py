"""The gRPC entry point refuses exactly what the policy refuses: every role, every action,
on the key's own app and on another, through real gRPC.

Each action is asked by one RPC that stands for it, and some by other RPCs too (a
workflow's changes, reads by id). A refused call ends PERMISSION_DENIED; an allowed one may
still fail for its own reasons (a promotion already settled cannot be cancelled, the record
runtime runs no one-off command), but never with PERMISSION_DENIED. ``administer`` is the
fail-closed answer for a method missing from the method table: the last test proves no
method of our services falls back to it.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest

from ledger.domain.key import Role
from ledger.policy import Action
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from server.grpc.methods import KEYS, LEDGER, METHODS
from server.infra.settings import Settings
from tests.integration.server.helpers import build, create_app, promote
from tests.support.auth import channel_to, create_key
from tests.support.ledgerd import InProcessLedgerd
from tests.support.policy_matrix import OTHER, OWN, ROLES, allowed, case_id, cases

_unique = itertools.count()


REPOSITORY = "file:///nonexistent/repo.git"  # nothing there: a job fails at its fetch, at once


@dataclass(frozen=True)
class World:
    """Two apps, each with a release made active by a promotion, a workflow deploying it
    and a (failed) job of that workflow; and a key of each role."""

    address: str
    tokens: dict[Role, str]
    releases: dict[str, str]
    promotions: dict[str, str]
    workflows: dict[str, str]
    jobs: dict[str, str]


Call = Callable[[LedgerStub, KeysStub, World, str], object]


def _build(ledger: LedgerStub, app: str) -> object:
    metadata = pb.BuildMetadata(app=app, image=f"{app}:{next(_unique)}")
    return ledger.CreateBuild(iter([pb.CreateBuildRequest(metadata=metadata)]))


def _workflow_settings(app: str) -> pb.WorkflowSettings:
    return pb.WorkflowSettings(repository=REPOSITORY, apps=[app])


def _create_workflow(ledger: LedgerStub, app: str) -> object:
    request = pb.CreateWorkflowRequest(
        name=f"made-{next(_unique)}", settings=_workflow_settings(app)
    )
    return ledger.CreateWorkflow(request)


def _doomed_workflow(world: World, app: str) -> str:
    """A new workflow of ``app`` (made by the admin), for a call to delete."""
    with channel_to(world.address, world.tokens[Role.ADMIN]) as admin:
        made = _create_workflow(LedgerStub(admin), app)
    assert isinstance(made, pb.WorkflowSecret)
    return made.workflow.name


def _run_command(ledger: LedgerStub, app: str) -> object:
    request = pb.RunCommandRequest(app=app, service="web", command=["true"])
    return list(ledger.RunCommand(request))


CALLS: dict[Action, Call] = {
    Action.READ: lambda ledger, keys, world, app: ledger.GetApp(pb.GetAppRequest(name=app)),
    Action.READ_LOG: lambda ledger, keys, world, app: ledger.ListEvents(
        pb.ListEventsRequest(app=app)
    ),
    Action.REVEAL_ENV: lambda ledger, keys, world, app: ledger.GetEnv(
        pb.GetEnvRequest(app=app, reveal=True)
    ),
    Action.CREATE_APP: lambda ledger, keys, world, app: ledger.CreateApp(
        pb.CreateAppRequest(name=f"made-{next(_unique)}")
    ),
    Action.CONFIGURE_APP: lambda ledger, keys, world, app: ledger.UpdateApp(
        pb.UpdateAppRequest(name=app, deadline_seconds=300)
    ),
    Action.BUILD: lambda ledger, keys, world, app: _build(ledger, app),
    Action.PROMOTE: lambda ledger, keys, world, app: ledger.PromoteRelease(
        pb.PromoteReleaseRequest(app=app, release_id=world.releases[app], queue=True)
    ),
    Action.ROLLBACK: lambda ledger, keys, world, app: ledger.RollbackRelease(
        pb.RollbackReleaseRequest(app=app, release_id=world.releases[app], queue=True)
    ),
    Action.CANCEL_PROMOTION: lambda ledger, keys, world, app: ledger.CancelPromotion(
        pb.CancelPromotionRequest(app=app, id=world.promotions[app])
    ),
    Action.CHANGE_ENV: lambda ledger, keys, world, app: ledger.UpdateEnv(
        pb.UpdateEnvRequest(app=app, set={"COLOUR": f"c{next(_unique)}"})
    ),
    Action.MANAGE_WORKFLOWS: lambda ledger, keys, world, app: _create_workflow(ledger, app),
    Action.RUN_COMMAND: lambda ledger, keys, world, app: _run_command(ledger, app),
    Action.AUDIT: lambda ledger, keys, world, app: ledger.GetCheckpoint(pb.GetCheckpointRequest()),
    Action.MANAGE_KEYS: lambda ledger, keys, world, app: keys.ListKeys(pb.ListKeysRequest()),
    Action.LIST_APPS: lambda ledger, keys, world, app: ledger.ListApps(pb.ListAppsRequest()),
    Action.READ_RACK: lambda ledger, keys, world, app: ledger.ListRackReleases(
        pb.ListRackReleasesRequest()
    ),
    Action.WHO_AM_I: lambda ledger, keys, world, app: keys.WhoAmI(pb.WhoAmIRequest()),
    Action.MANAGE_NOTIFICATIONS: lambda ledger, keys, world, app: ledger.ListDeliveries(
        pb.ListDeliveriesRequest()
    ),
}

MORE_CALLS: dict[str, tuple[Action, Call]] = {
    "UpdateWorkflow": (
        Action.MANAGE_WORKFLOWS,
        lambda ledger, keys, world, app: ledger.UpdateWorkflow(
            pb.UpdateWorkflowRequest(
                name=world.workflows[app],
                settings=pb.WorkflowSettings(branch=f"b{next(_unique)}"),
                update_fields=["branch"],
            )
        ),
    ),
    "DeleteWorkflow": (
        Action.MANAGE_WORKFLOWS,
        lambda ledger, keys, world, app: ledger.DeleteWorkflow(
            pb.DeleteWorkflowRequest(name=_doomed_workflow(world, app))
        ),
    ),
    "RotateWorkflowSecret": (
        Action.MANAGE_WORKFLOWS,
        lambda ledger, keys, world, app: ledger.RotateWorkflowSecret(
            pb.RotateWorkflowSecretRequest(name=world.workflows[app])
        ),
    ),
    "GetWorkflow": (
        Action.READ,
        lambda ledger, keys, world, app: ledger.GetWorkflow(
            pb.GetWorkflowRequest(name=world.workflows[app])
        ),
    ),
    "GetJob": (
        Action.READ,
        lambda ledger, keys, world, app: ledger.GetJob(pb.GetJobRequest(id=world.jobs[app])),
    ),
    "ListTasks": (
        Action.READ,
        lambda ledger, keys, world, app: ledger.ListTasks(pb.ListTasksRequest(app=app)),
    ),
    "GetDeployMetrics": (
        Action.READ,
        lambda ledger, keys, world, app: ledger.GetDeployMetrics(
            pb.GetDeployMetricsRequest(app=app)
        ),
    ),
}
"""Other RPCs asking an action, by RPC: the action, and the call."""


def _ended(ledger: LedgerStub, job_id: str) -> pb.Job:
    deadline = time.monotonic() + 15
    while (job := ledger.GetJob(pb.GetJobRequest(id=job_id))).status in ("queued", "running"):
        assert time.monotonic() < deadline, f"job {job_id} did not end"
        time.sleep(0.02)
    return job


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("matrix") / "ledger"
    settings = Settings(data_dir=data_dir, listen="127.0.0.1:0", console_listen="")
    with InProcessLedgerd(settings) as server, server.channel() as admin:
        ledger = LedgerStub(admin)
        releases, promotions, workflows, jobs = {}, {}, {}, {}
        for app in (OWN, OTHER):
            create_app(ledger, app)
            releases[app] = build(ledger, app, f"{app}:1").release_id
            promotions[app] = promote(ledger, app, releases[app]).id
            workflows[app] = f"{app}-ci"
            settings = _workflow_settings(app)
            ledger.CreateWorkflow(pb.CreateWorkflowRequest(name=workflows[app], settings=settings))
            run = pb.RunWorkflowRequest(name=workflows[app], commit="a" * 40)
            jobs[app] = _ended(ledger, ledger.RunWorkflow(run).id).id
        tokens = {
            Role.ADMIN: server.token,
            Role.DEPLOYER: create_key(admin, "ci", "deployer", OWN)[1],
            Role.AUDITOR: create_key(admin, "audit", "auditor")[1],
            Role.READER: create_key(admin, "dash", "reader", OWN)[1],
        }
        yield World(server.address, tokens, releases, promotions, workflows, jobs)


def code_of(call: Call, world: World, role: Role, app: str) -> grpc.StatusCode:
    """How ``call`` ends when made with the key of ``role`` on ``app``."""
    with channel_to(world.address, world.tokens[role]) as channel:
        try:
            call(LedgerStub(channel), KeysStub(channel), world, app)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize(("action", "role", "app"), cases(CALLS), ids=case_id)
def test_an_rpc_is_refused_exactly_when_the_policy_refuses_its_action(
    world: World, action: Action, role: Role, app: str
) -> None:
    code = code_of(CALLS[action], world, role, app)

    if allowed(action, role, app):
        assert code != grpc.StatusCode.PERMISSION_DENIED
    else:
        assert code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("rpc", sorted(MORE_CALLS))
@pytest.mark.parametrize(("role", "app"), [(role, app) for role in ROLES for app in (OWN, OTHER)])
def test_another_rpc_of_an_action_is_refused_exactly_when_the_policy_refuses_it(
    world: World, rpc: str, role: Role, app: str
) -> None:
    action, call = MORE_CALLS[rpc]

    code = code_of(call, world, role, app)

    if allowed(action, role, app):
        assert code == grpc.StatusCode.OK
    else:
        assert code == grpc.StatusCode.PERMISSION_DENIED


def test_every_action_but_administer_has_an_rpc_that_stands_for_it() -> None:
    assert set(CALLS) == set(Action) - {Action.ADMINISTER}


def test_every_method_of_our_services_is_in_the_method_table() -> None:
    services = pb.DESCRIPTOR.services_by_name
    methods = {LEDGER + m.name for m in services["Ledger"].methods} | {
        KEYS + m.name for m in services["Keys"].methods
    }
    assert methods == set(METHODS)
