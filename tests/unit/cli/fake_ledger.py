"""A scripted stand-in for ledgerd, served over real gRPC on a local port.

The real server is written elsewhere; these tests check the client's own behaviour (what
it sends, how it retries, how it waits, what it prints), so the fake only answers from a
script and records what it received.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1 import ledger_pb2_grpc


@dataclass
class Script:
    """What the fake answers. Tests fill in only what they need."""

    releases: list[pb.Release] = field(default_factory=list)
    page_size: int = 2
    env: pb.Env = field(default_factory=lambda: pb.Env(app="web", version=1))
    build: pb.Build = field(
        default_factory=lambda: pb.Build(
            id="B1", app="web", status="succeeded", release_id="R3", image="nginx:1"
        )
    )
    # GetPromotion answers these in turn (the last one repeats).
    promotion_polls: list[pb.Promotion] = field(default_factory=list)
    events: list[pb.Event] = field(default_factory=list)
    # WatchEvents: one list of responses per connection; "UNAVAILABLE" drops it there.
    watch_connections: list[list[Any]] = field(default_factory=list)
    log_chunks: list[bytes] = field(default_factory=list)
    active: pb.GetActiveReleaseResponse = field(
        default_factory=lambda: pb.GetActiveReleaseResponse(position=1)
    )
    # How many times each method answers UNAVAILABLE before answering normally.
    unavailable: dict[str, int] = field(default_factory=dict)


class FakeLedger(ledger_pb2_grpc.LedgerServicer):
    """Answers from a Script and records every request and its metadata."""

    def __init__(self) -> None:
        self.script = Script()
        self.calls: list[tuple[str, Any, dict[str, str]]] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ helpers

    def requests(self, method: str) -> list[Any]:
        return [request for name, request, _ in self.calls if name == method]

    def _record(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.calls.append((method, request, dict(context.invocation_metadata())))
            left = self.script.unavailable.get(method, 0)
            if left:
                self.script.unavailable[method] = left - 1
        if left:
            context.abort(grpc.StatusCode.UNAVAILABLE, "try again")

    # ------------------------------------------------------------------ apps

    def CreateApp(self, request: Any, context: Any) -> pb.App:
        self._record("CreateApp", request, context)
        return pb.App(name=request.name)

    def GetApp(self, request: Any, context: Any) -> pb.App:
        self._record("GetApp", request, context)
        if request.name != "web":
            context.abort(grpc.StatusCode.NOT_FOUND, f"app {request.name} not found")
        return pb.App(name="web", active_release_id="R2", env_version=1, release_count=2)

    def ListApps(self, request: Any, context: Any) -> pb.ListAppsResponse:
        self._record("ListApps", request, context)
        return pb.ListAppsResponse(apps=[pb.App(name="web", release_count=2)])

    def GetActiveRelease(self, request: Any, context: Any) -> pb.GetActiveReleaseResponse:
        self._record("GetActiveRelease", request, context)
        return self.script.active

    # ------------------------------------------------------------------ builds

    def CreateBuild(self, request_iterator: Any, context: Any) -> pb.Build:
        messages = list(request_iterator)
        self._record("CreateBuild", messages, context)
        return self.script.build

    def GetBuild(self, request: Any, context: Any) -> pb.Build:
        self._record("GetBuild", request, context)
        return self.script.build

    def ListBuilds(self, request: Any, context: Any) -> pb.ListBuildsResponse:
        self._record("ListBuilds", request, context)
        return pb.ListBuildsResponse(builds=[self.script.build])

    def StreamBuildLogs(self, request: Any, context: Any) -> Iterator[pb.BuildLogChunk]:
        self._record("StreamBuildLogs", request, context)
        for chunk in self.script.log_chunks:
            yield pb.BuildLogChunk(data=chunk)

    # ------------------------------------------------------------------ releases

    def ListReleases(self, request: Any, context: Any) -> pb.ListReleasesResponse:
        self._record("ListReleases", request, context)
        start = int(request.page_token or 0)
        end = start + min(request.page_size or self.script.page_size, self.script.page_size)
        token = str(end) if end < len(self.script.releases) else ""
        return pb.ListReleasesResponse(
            releases=self.script.releases[start:end], next_page_token=token
        )

    def GetRelease(self, request: Any, context: Any) -> pb.Release:
        self._record("GetRelease", request, context)
        for release in self.script.releases:
            if release.id == request.id:
                return release
        context.abort(grpc.StatusCode.NOT_FOUND, f"release {request.id} not found")
        raise AssertionError

    def DiffReleases(self, request: Any, context: Any) -> pb.ReleaseDiff:
        self._record("DiffReleases", request, context)
        return pb.ReleaseDiff(
            from_release=pb.Release(id=request.from_release_id, version=1, build_id="B1"),
            to_release=pb.Release(id=request.to_release_id, version=2, build_id="B2"),
            build_changed=True,
            added=["NEW"],
            removed=["OLD"],
        )

    # ------------------------------------------------------------------ promotions

    def PromoteRelease(self, request: Any, context: Any) -> pb.Promotion:
        self._record("PromoteRelease", request, context)
        return pb.Promotion(
            id="P1", app=request.app, release_id=request.release_id or "R3", status="pending"
        )

    def GetPromotion(self, request: Any, context: Any) -> pb.Promotion:
        self._record("GetPromotion", request, context)
        polls = self.script.promotion_polls
        return polls.pop(0) if len(polls) > 1 else polls[0]

    def RollbackRelease(self, request: Any, context: Any) -> pb.RollbackReleaseResponse:
        self._record("RollbackRelease", request, context)
        return pb.RollbackReleaseResponse(
            release=pb.Release(id="R9", version=9, reason="rollback", parent_id=request.release_id),
            promotion=pb.Promotion(id="P2", app=request.app, release_id="R9", status="pending"),
        )

    def ListPromotions(self, request: Any, context: Any) -> pb.ListPromotionsResponse:
        self._record("ListPromotions", request, context)
        return pb.ListPromotionsResponse(promotions=self.script.promotion_polls[-1:])

    def CancelPromotion(self, request: Any, context: Any) -> pb.Promotion:
        self._record("CancelPromotion", request, context)
        return pb.Promotion(id=request.id, app=request.app, status="cancelled")

    # ------------------------------------------------------------------ environment

    def GetEnv(self, request: Any, context: Any) -> pb.Env:
        self._record("GetEnv", request, context)
        return self.script.env

    def UpdateEnv(self, request: Any, context: Any) -> pb.UpdateEnvResponse:
        self._record("UpdateEnv", request, context)
        return pb.UpdateEnvResponse(env_version=2, added=sorted(request.set))

    # ------------------------------------------------------------------ events

    def ListEvents(self, request: Any, context: Any) -> pb.ListEventsResponse:
        self._record("ListEvents", request, context)
        return pb.ListEventsResponse(events=self.script.events)

    def WatchEvents(self, request: Any, context: Any) -> Iterator[pb.WatchEventsResponse]:
        self._record("WatchEvents", request, context)
        connections = self.script.watch_connections
        for item in connections.pop(0) if connections else []:
            if item == "UNAVAILABLE":
                context.abort(grpc.StatusCode.UNAVAILABLE, "going away")
            yield item

    # ------------------------------------------------------------------ rack

    def ListRackReleases(self, request: Any, context: Any) -> pb.ListRackReleasesResponse:
        self._record("ListRackReleases", request, context)
        return pb.ListRackReleasesResponse(
            releases=[pb.RackRelease(version="0.1.0", started_at=Timestamp(seconds=0), position=1)]
        )


class FakeServer:
    """The fake, listening on 127.0.0.1 on a free port."""

    def __init__(self) -> None:
        self.ledger = FakeLedger()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        ledger_pb2_grpc.add_LedgerServicer_to_server(self.ledger, self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self.host = f"127.0.0.1:{port}"

    def __enter__(self) -> FakeServer:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(grace=None)
