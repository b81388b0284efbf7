"""Small steps the server scenarios share, all through the real gRPC client."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub

TERMINAL = {"succeeded", "rolled_back", "rollback_failed", "cancelled"}


def rpc_error(call: Callable[[], Any]) -> grpc.RpcError:
    """The error ``call`` fails with (the test fails if it succeeds)."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def actor_of(channel: grpc.Channel) -> str:
    """How events name the key ``channel`` signs in with: ``name (id)``."""
    key = KeysStub(channel).WhoAmI(pb.WhoAmIRequest())
    return f"{key.name} ({key.id})"


def create_app(client: LedgerStub, name: str = "web") -> pb.App:
    return client.CreateApp(pb.CreateAppRequest(name=name))


def build(client: LedgerStub, app: str, image: str, request_id: str = "") -> pb.Build:
    metadata = pb.BuildMetadata(app=app, image=image, request_id=request_id)
    return client.CreateBuild(iter([pb.CreateBuildRequest(metadata=metadata)]))


def wait_promotion(client: LedgerStub, app: str, promotion_id: str) -> pb.Promotion:
    """Poll until the promotion ends (the record runtime finishes in milliseconds)."""
    deadline = time.monotonic() + 15
    while True:
        promotion = client.GetPromotion(pb.GetPromotionRequest(app=app, id=promotion_id))
        if promotion.status in TERMINAL:
            return promotion
        assert time.monotonic() < deadline, f"promotion still {promotion.status}"
        time.sleep(0.02)


def promote(client: LedgerStub, app: str, release_id: str) -> pb.Promotion:
    promotion = client.PromoteRelease(pb.PromoteReleaseRequest(app=app, release_id=release_id))
    done = wait_promotion(client, app, promotion.id)
    assert done.status == "succeeded"
    return done


def deploy(client: LedgerStub, app: str, image: str) -> pb.Release:
    """Build then promote; returns the release now active."""
    release_id = build(client, app, image).release_id
    promote(client, app, release_id)
    return client.GetRelease(pb.GetReleaseRequest(app=app, id=release_id))


def all_events(client: LedgerStub) -> list[pb.Event]:
    events: list[pb.Event] = []
    token = ""
    while True:
        page = client.ListEvents(pb.ListEventsRequest(page_size=500, page_token=token))
        events.extend(page.events)
        token = page.next_page_token
        if not token:
            return events


def new_request_id() -> str:
    return str(uuid.uuid4())


def skip_a_log_position(client: LedgerStub, app: str) -> None:
    """Make PostgreSQL skip a log position: a promotion that ended, requested again with
    its request id, decides a new promotion whose save fails on the request's record."""
    release_id = build(client, app, f"{app}:gap").release_id
    request = pb.PromoteReleaseRequest(app=app, release_id=release_id, request_id=new_request_id())
    wait_promotion(client, app, client.PromoteRelease(request).id)
    client.PromoteRelease(request)
