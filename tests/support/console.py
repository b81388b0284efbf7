"""Arranging the console's tests through the gRPC API as the admin: builds, promotions,
waiting on the event stream.

Waiting is always woken by ``WatchEvents`` (never a sleep): from position 0, so what
happened before the watch began is seen too.
"""

from __future__ import annotations

import json

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
