"""The mutating RPCs of the retry scenarios (``test_retried_requests.py``), each a
:class:`Case`: what it needs first, how it is sent with a request id, what of its answer a
retry must give again, and how to wait until what it started has ended."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from tests.integration.server.helpers import build, create_app, deploy, wait_promotion
from tests.support.builds import upload
from tests.support.git import Repository

JOB_ENDED = {"succeeded", "failed", "cancelled", "superseded"}
BUILD_ENDED = {"succeeded", "failed"}


@dataclass
class World:
    """A ledgerd's two services (as admin) and a git repository for workflows."""

    api: LedgerStub
    keys: KeysStub
    repo: Repository
    sources: Path
    names: itertools.count[int]

    def name(self, prefix: str) -> str:
        return f"{prefix}-{next(self.names)}"


Send = Callable[[World, Any, str], Any]


@dataclass(frozen=True)
class Case:
    """``prepare`` returns what ``send`` needs; ``answer`` is what both answers share."""

    rpc: str
    prepare: Callable[[World], Any]
    send: Send
    answer: Callable[[Any], tuple[Any, ...]]
    settle: Callable[[World, Any], None] = lambda world, response: None


def app_with_release(world: World) -> tuple[str, str]:
    """An app with an active release: (app, release id)."""
    app = world.name("web")
    create_app(world.api, app)
    return app, deploy(world.api, app, f"{app}:1").id


def workflow_of(world: World, promote: str = "manual") -> tuple[str, str]:
    """A workflow deploying a new app: (workflow, app)."""
    app = world.name("site")
    create_app(world.api, app)
    settings = pb.WorkflowSettings(repository=world.repo.url, apps=[app], promote=promote)
    name = world.name("flow")
    world.api.CreateWorkflow(pb.CreateWorkflowRequest(name=name, settings=settings))
    return name, app


def paused_workflow(world: World) -> str:
    """A workflow whose app's automatic promotion a rollback paused."""
    name, app = workflow_of(world, promote="auto")
    first = deploy(world.api, app, f"{app}:1")
    deploy(world.api, app, f"{app}:2")
    rolled = world.api.RollbackRelease(pb.RollbackReleaseRequest(app=app, release_id=first.id))
    wait_promotion(world.api, app, rolled.promotion.id)
    return name


def ended_job(world: World) -> str:
    name, _ = workflow_of(world)
    job = world.api.RunWorkflow(pb.RunWorkflowRequest(name=name))
    wait_job(world, job)
    return str(job.id)


def wait_job(world: World, job: pb.Job) -> None:
    deadline = time.monotonic() + 30
    while world.api.GetJob(pb.GetJobRequest(id=job.id)).status not in JOB_ENDED:
        assert time.monotonic() < deadline, f"job {job.id} did not end"
        time.sleep(0.05)


def settle_promotion(world: World, promotion: pb.Promotion) -> None:
    wait_promotion(world.api, promotion.app, promotion.id)


def update_env(promote: bool) -> Send:
    def send(world: World, app: str, request_id: str) -> pb.UpdateEnvResponse:
        change = pb.UpdateEnvRequest(app=app, set={"A": "1"}, promote=promote)
        change.request_id = request_id
        return world.api.UpdateEnv(change)

    return send


def env_answer(response: pb.UpdateEnvResponse) -> tuple[Any, ...]:
    changes = (list(response.added), list(response.changed), list(response.removed))
    return (response.env_version, *changes, response.release.id, response.promotion.id)


def settle_env(world: World, response: pb.UpdateEnvResponse) -> None:
    if response.HasField("promotion"):
        settle_promotion(world, response.promotion)


def wait_build(world: World, built: pb.Build) -> None:
    deadline = time.monotonic() + 30
    request = pb.GetBuildRequest(app=built.app, id=built.id)
    while world.api.GetBuild(request).status not in BUILD_ENDED:
        assert time.monotonic() < deadline, f"build {built.id} did not end"
        time.sleep(0.05)


def source_build(world: World, app: str, request_id: str) -> pb.Build:
    requests = list(upload(app, world.sources))
    requests[0].metadata.request_id = request_id
    return world.api.CreateBuild(iter(requests))


def _app(world: World) -> str:
    app = world.name("web")
    create_app(world.api, app)
    return app


CASES = [
    Case(
        "CreateApp",
        lambda world: world.name("new"),
        lambda world, name, rid: world.api.CreateApp(
            pb.CreateAppRequest(name=name, request_id=rid)
        ),
        lambda app: (app.name,),
    ),
    Case(
        "UpdateApp",
        _app,
        lambda world, app, rid: world.api.UpdateApp(
            pb.UpdateAppRequest(name=app, deadline_seconds=90, request_id=rid)
        ),
        lambda app: (app.name, app.deadline_seconds),
    ),
    Case(
        "CreateBuild of an image",
        _app,
        lambda world, app, rid: build(world.api, app, f"{app}:1", request_id=rid),
        lambda built: (built.id, built.release_id),
    ),
    Case(
        "CreateBuild from source",
        _app,
        source_build,
        lambda built: (built.id, built.source),
        wait_build,
    ),
    Case("UpdateEnv of an app without release", _app, update_env(False), env_answer),
    Case(
        "UpdateEnv making a release",
        lambda world: app_with_release(world)[0],
        update_env(False),
        env_answer,
    ),
    Case(
        "UpdateEnv promoting its release",
        lambda world: app_with_release(world)[0],
        update_env(True),
        env_answer,
        settle_env,
    ),
    Case(
        "PromoteRelease",
        lambda world: (app := _app(world), build(world.api, app, f"{app}:1").release_id),
        lambda world, target, rid: world.api.PromoteRelease(
            pb.PromoteReleaseRequest(app=target[0], release_id=target[1], request_id=rid)
        ),
        lambda promotion: (promotion.id, promotion.release_id),
        settle_promotion,
    ),
    Case(
        "RollbackRelease",
        lambda world: (app := app_with_release(world), deploy(world.api, app[0], "web:2"))[0],
        lambda world, target, rid: world.api.RollbackRelease(
            pb.RollbackReleaseRequest(app=target[0], release_id=target[1], request_id=rid)
        ),
        lambda rolled: (rolled.release.id, rolled.release.parent_id, rolled.promotion.id),
        lambda world, rolled: settle_promotion(world, rolled.promotion),
    ),
    Case(
        "CreateKey",
        lambda world: world.name("key"),
        lambda world, name, rid: world.keys.CreateKey(
            pb.CreateKeyRequest(name=name, role="auditor", request_id=rid)
        ),
        lambda created: (created.key.id, created.key.name, created.key.role),
    ),
    Case(
        "RevokeKey",
        lambda world: world.keys.CreateKey(pb.CreateKeyRequest(name="old", role="auditor")).key.id,
        lambda world, key, rid: world.keys.RevokeKey(pb.RevokeKeyRequest(id=key, request_id=rid)),
        lambda key: (key.id, key.revoked_at.ToJsonString(), key.revoked_by),
    ),
    Case(
        "CreateWorkflow",
        _app,
        lambda world, app, rid: world.api.CreateWorkflow(
            pb.CreateWorkflowRequest(
                name=f"flow-of-{app}",
                settings=pb.WorkflowSettings(repository=world.repo.url, apps=[app]),
                request_id=rid,
            )
        ),
        lambda created: (created.workflow.name, list(created.workflow.settings.apps)),
    ),
    Case(
        "UpdateWorkflow",
        lambda world: workflow_of(world)[0],
        lambda world, name, rid: world.api.UpdateWorkflow(
            pb.UpdateWorkflowRequest(
                name=name,
                settings=pb.WorkflowSettings(branch="release"),
                update_fields=["branch"],
                request_id=rid,
            )
        ),
        lambda workflow: (workflow.name, workflow.settings.branch),
    ),
    Case(
        "RotateWorkflowSecret",
        lambda world: workflow_of(world)[0],
        lambda world, name, rid: world.api.RotateWorkflowSecret(
            pb.RotateWorkflowSecretRequest(name=name, request_id=rid)
        ),
        lambda rotated: (rotated.workflow.name,),
    ),
    Case(
        "DeleteWorkflow",
        lambda world: workflow_of(world)[0],
        lambda world, name, rid: world.api.DeleteWorkflow(
            pb.DeleteWorkflowRequest(name=name, request_id=rid)
        ),
        lambda workflow: (workflow.name, workflow.deleted),
    ),
    Case(
        "ResumeWorkflow",
        paused_workflow,
        lambda world, name, rid: world.api.ResumeWorkflow(
            pb.ResumeWorkflowRequest(name=name, request_id=rid)
        ),
        lambda workflow: (workflow.name, [paused.app for paused in workflow.paused]),
    ),
    Case(
        "RunWorkflow",
        lambda world: workflow_of(world)[0],
        lambda world, name, rid: world.api.RunWorkflow(
            pb.RunWorkflowRequest(name=name, request_id=rid)
        ),
        lambda job: (job.id, job.sha),
        wait_job,
    ),
    Case(
        "RerunJob",
        ended_job,
        lambda world, job, rid: world.api.RerunJob(pb.RerunJobRequest(id=job, request_id=rid)),
        lambda job: (job.id, job.sha),
        wait_job,
    ),
]
