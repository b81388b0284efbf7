"""Arranging the console's tests through the gRPC API as the admin: builds, promotions,
workflows and their jobs (of a local git repository), waiting on the event stream.

Waiting is always woken by ``WatchEvents`` (never a sleep): from position 0, so what
happened before the watch began is seen too.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.support.auth import bearer

WAIT_SECONDS = 30


def image_build(api: LedgerStub, app: str, image: str, description: str = "") -> pb.Build:
    """A build of an existing image reference, with the release it created."""
    metadata = pb.BuildMetadata(app=app, image=image, description=description)
    build: pb.Build = api.CreateBuild(iter([pb.CreateBuildRequest(metadata=metadata)]))
    assert build.release_id, f"build {build.id} of {image} created no release"
    return build


def settle(api: LedgerStub, app: str, promotion_id: str) -> pb.Promotion:
    """The promotion once its ``PromotionSettled`` event is on the app's event stream."""
    stream = api.WatchEvents(pb.WatchEventsRequest(app=app), timeout=WAIT_SECONDS)
    try:
        for response in stream:
            for event in response.events:
                if event.type == "PromotionSettled" and (
                    json.loads(event.data)["promotion_id"] == promotion_id
                ):
                    promotion: pb.Promotion = api.GetPromotion(
                        pb.GetPromotionRequest(app=app, id=promotion_id)
                    )
                    return promotion
    finally:
        stream.cancel()
    raise AssertionError(f"the event stream ended before promotion {promotion_id} settled")


def promote(api: LedgerStub, app: str, release_id: str, token: str = "") -> pb.Promotion:
    """Promote as ``token``'s key (else the admin) and wait: the settled, succeeded promotion."""
    request = pb.PromoteReleaseRequest(app=app, release_id=release_id)
    started = api.PromoteRelease(request, metadata=bearer(token) if token else None)
    done = settle(api, app, started.id)
    assert done.status == "succeeded", f"promotion {done.id} ended {done.status}"
    return done


def active_now(api: LedgerStub, app: str, release_id: str) -> None:
    """Wait until ``release_id`` is the app's active release (woken by the event stream)."""
    stream = api.WatchEvents(pb.WatchEventsRequest(app=app), timeout=WAIT_SECONDS)
    try:
        for _ in stream:
            if api.GetApp(pb.GetAppRequest(name=app)).active_release_id == release_id:
                return
    finally:
        stream.cancel()
    raise AssertionError(f"{release_id} never became active")


def shop(api: LedgerStub, releases: int = 3, active: int = 0) -> list[str]:
    """App ``shop`` with ``releases`` builds (v1…vN); v``active`` promoted (0: the newest)."""
    api.CreateApp(pb.CreateAppRequest(name="shop"))
    ids = [image_build(api, "shop", f"shop:{n}").release_id for n in range(1, releases + 1)]
    promote(api, "shop", ids[(active or releases) - 1])
    return ids


def set_env(api: LedgerStub, app: str, **values: str) -> pb.UpdateEnvResponse:
    """Set the app's env values through ``UpdateEnv`` (no promotion)."""
    response: pb.UpdateEnvResponse = api.UpdateEnv(pb.UpdateEnvRequest(app=app, set=values))
    return response


def events_of(api: LedgerStub, app: str, kind: str) -> list[pb.Event]:
    """The app's events of type ``kind``, oldest first."""
    request = pb.ListEventsRequest(app=app, types=[kind], page_size=500)
    return list(api.ListEvents(request).events)


def git_origin(directory: Path, message: str, files: dict[str, str]) -> tuple[str, str]:
    """A bare git repository under ``directory`` whose branch ``main`` has one commit of
    ``files`` with ``message``: its ``file://`` URL and the commit's sha."""
    bare, work, home = directory / "origin.git", directory / "work", directory / "home"
    for made in (work, home):
        made.mkdir(parents=True)
    env = {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.environ["PATH"]}

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com", *args],
            cwd=work,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    git("init", "-q", "--bare", str(bare))
    git("init", "-q")
    for name, text in files.items():
        (work / name).write_text(text)
    git("add", "--all")
    git("commit", "-q", "-m", message)
    git("push", "-q", str(bare), "HEAD:refs/heads/main")
    return bare.as_uri(), git("rev-parse", "HEAD")


def create_workflow(
    api: LedgerStub, name: str, repository: str, *apps: str, promote: str = "auto"
) -> pb.WorkflowSecret:
    """A workflow of ``repository``'s ``main`` deploying ``apps`` (as the admin)."""
    settings = pb.WorkflowSettings(
        repository=repository, branch="main", apps=list(apps), promote=promote
    )
    created: pb.WorkflowSecret = api.CreateWorkflow(
        pb.CreateWorkflowRequest(name=name, settings=settings)
    )
    return created


def job_ended(api: LedgerStub, job_id: str) -> pb.Job:
    """The job once its ``JobEnded`` event is on the event stream."""
    stream = api.WatchEvents(pb.WatchEventsRequest(), timeout=WAIT_SECONDS)
    try:
        for response in stream:
            for event in response.events:
                if event.type == "JobEnded" and json.loads(event.data)["job_id"] == job_id:
                    job: pb.Job = api.GetJob(pb.GetJobRequest(id=job_id))
                    return job
    finally:
        stream.cancel()
    raise AssertionError(f"the event stream ended before job {job_id} ended")
