"""A thin grpc.aio client of the Ledger API for the benchmark (no retries, no CLI layers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1 import ledger_pb2_grpc as pb_grpc

# Every call carries the admin token of the ledger under test (``sign_in`` after it starts).
METADATA: tuple[tuple[str, str], ...] = ()


def sign_in(token: str) -> None:
    """Send ``token`` with every call of every client from now on."""
    global METADATA
    METADATA = (("authorization", f"Bearer {token}"),)


TIMEOUT = 30.0
OPTIONS: Sequence[tuple[str, Any]] = (
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.http2.max_pings_without_data", 0),
)
TERMINAL = {"succeeded", "failed", "rolled_back", "rollback_failed", "cancelled"}


def channel(target: str, tag: int = 0) -> grpc.aio.Channel:
    """A new aio channel; a distinct ``tag`` forces a distinct TCP connection."""
    return grpc.aio.insecure_channel(target, options=[*OPTIONS, ("bench.channel", tag)])


def ts_seconds(ts: Timestamp) -> float:
    return ts.seconds + ts.nanos / 1e9


class Client:
    """Calls one ledgerd over one channel."""

    def __init__(self, ch: grpc.aio.Channel) -> None:
        self.channel = ch
        self.stub = pb_grpc.LedgerStub(ch)

    async def ready(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.channel.channel_ready(), timeout)

    async def create_app(self, name: str) -> pb.App:
        reply: pb.App = await self.stub.CreateApp(
            pb.CreateAppRequest(name=name), metadata=METADATA, timeout=TIMEOUT
        )
        return reply

    async def create_build(self, app: str, image: str = "registry.local/bench:1") -> pb.Build:
        first = pb.CreateBuildRequest(metadata=pb.BuildMetadata(app=app, image=image))
        reply: pb.Build = await self.stub.CreateBuild(
            iter([first]), metadata=METADATA, timeout=TIMEOUT
        )
        return reply

    async def update_env(
        self, app: str, values: dict[str, str], promote: bool = False
    ) -> pb.UpdateEnvResponse:
        request = pb.UpdateEnvRequest(app=app, set=values, promote=promote)
        reply: pb.UpdateEnvResponse = await self.stub.UpdateEnv(
            request, metadata=METADATA, timeout=TIMEOUT
        )
        return reply

    async def promote(self, app: str, release_id: str = "") -> pb.Promotion:
        request = pb.PromoteReleaseRequest(app=app, release_id=release_id)
        reply: pb.Promotion = await self.stub.PromoteRelease(
            request, metadata=METADATA, timeout=TIMEOUT
        )
        return reply

    async def get_app(self, name: str) -> pb.App:
        reply: pb.App = await self.stub.GetApp(
            pb.GetAppRequest(name=name), metadata=METADATA, timeout=TIMEOUT
        )
        return reply

    async def list_releases(
        self, app: str, page_size: int = 50, token: str = ""
    ) -> pb.ListReleasesResponse:
        request = pb.ListReleasesRequest(app=app, page_size=page_size, page_token=token)
        reply: pb.ListReleasesResponse = await self.stub.ListReleases(
            request, metadata=METADATA, timeout=TIMEOUT
        )
        return reply

    async def app_names(self, limit: int = 200) -> list[str]:
        page = await self.stub.ListApps(
            pb.ListAppsRequest(page_size=limit), metadata=METADATA, timeout=TIMEOUT
        )
        return [a.name for a in page.apps]

    async def list_events(self, after: int = 0, page_size: int = 100) -> pb.ListEventsResponse:
        request = pb.ListEventsRequest(after_position=after, page_size=page_size)
        reply: pb.ListEventsResponse = await self.stub.ListEvents(
            request, metadata=METADATA, timeout=TIMEOUT
        )
        return reply

    async def head(self, app: str) -> int:
        """The newest log position (as the server's answer to GetActiveRelease says)."""
        response = await self.stub.GetActiveRelease(
            pb.GetActiveReleaseRequest(app=app), metadata=METADATA, timeout=TIMEOUT
        )
        return int(response.position)

    async def positions(self, after: int, until: int) -> list[int]:
        """Positions of every event in (after, until], read with ListEvents."""
        found: list[int] = []
        token = ""
        while True:
            request = pb.ListEventsRequest(after_position=after, page_size=1000, page_token=token)
            page = await self.stub.ListEvents(request, metadata=METADATA, timeout=TIMEOUT)
            found.extend(e.position for e in page.events if after < e.position <= until)
            if not page.next_page_token or not page.events or page.events[-1].position >= until:
                break
            token = page.next_page_token
        return sorted(set(found))

    async def settle(self, app: str, timeout: float = 30.0) -> pb.App:
        """Wait until ``app`` has no promotion in flight."""
        deadline = time.monotonic() + timeout
        while True:
            current = await self.get_app(app)
            if not current.HasField("promotion") or current.promotion.status in TERMINAL:
                return current
            if time.monotonic() > deadline:
                raise TimeoutError(f"promotion of {app} still {current.promotion.status}")
            await asyncio.sleep(0.005)

    async def deployed_app(self, name: str) -> pb.App:
        """Create ``name`` with one build whose release is promoted (and active)."""
        await self.create_app(name)
        await self.create_build(name)
        await self.promote(name)
        return await self.settle(name)
