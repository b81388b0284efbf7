"""A typed client of ``ledger.v1.Ledger``: one method per RPC the CLI uses, plus paging.

Why a facade over the generated stub: the stub's methods are untyped for mypy (grpc ships
no stubs), every call must go through the transport's metadata/deadline/retry rules, and
every mutating request must get its ``request_id`` exactly once, before any retry.
The transport, the stubs and paging are in :mod:`cli.client_base`; the calls reading the
event log in :mod:`cli.client_events`, those of the Keys service in :mod:`cli.client_keys`,
those of workflows, jobs and one-off commands in :mod:`cli.client_workflows`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from cli.client_base import MAX_PAGE_SIZE as MAX_PAGE_SIZE
from cli.client_base import paginate as paginate
from cli.client_events import EventCalls
from cli.client_keys import KeyCalls
from cli.client_notifications import NotificationCalls
from cli.client_workflows import WorkflowCalls
from cli.render import to_timestamp
from cli.transport import new_request_id
from ledger_api.v1 import ledger_pb2 as pb

LOG_STREAM_TIMEOUT = 3600.0  # a build's logs follow the build; builds end within an hour
UPLOAD_TIMEOUT = 3600.0  # a source upload may be large; it is still bounded
CHUNK_SIZE = 64 * 1024
EXPORT_PAGE_SIZE = 500  # the server's largest page (it also stops pages at ~2 MiB)


class LedgerClient(EventCalls, KeyCalls, WorkflowCalls, NotificationCalls):
    """The CLI's view of the Ledger service: typed calls with the transport's rules.

    The calls reading the event log come from :class:`~cli.client_events.EventCalls`,
    those of the Keys service from :class:`~cli.client_keys.KeyCalls`, those of workflows,
    jobs and one-off commands from :class:`~cli.client_workflows.WorkflowCalls`.
    """

    # ------------------------------------------------------------------ apps

    def create_app(self, name: str, deadline_seconds: int = 0) -> pb.App:
        request = pb.CreateAppRequest(
            name=name, request_id=new_request_id(), deadline_seconds=deadline_seconds
        )
        return self.transport.unary(self.stub.CreateApp, request, pb.App)

    def update_app(self, name: str, *, deadline_seconds: int) -> pb.App:
        request = pb.UpdateAppRequest(
            name=name, request_id=new_request_id(), deadline_seconds=deadline_seconds
        )
        return self.transport.unary(self.stub.UpdateApp, request, pb.App)

    def get_app(self, name: str) -> pb.App:
        return self.transport.unary(self.stub.GetApp, pb.GetAppRequest(name=name), pb.App)

    def list_apps(self, limit: int) -> list[pb.App]:
        def fetch(size: int, token: str) -> tuple[Sequence[pb.App], str]:
            request = pb.ListAppsRequest(page_size=size, page_token=token)
            page = self.transport.unary(self.stub.ListApps, request, pb.ListAppsResponse)
            return page.apps, page.next_page_token

        return paginate(fetch, limit)

    def get_active_release(
        self, app: str, *, position: int = 0, time: datetime | None = None
    ) -> pb.GetActiveReleaseResponse:
        request = pb.GetActiveReleaseRequest(app=app, as_of_position=position)
        if time is not None:
            request.as_of_time.CopyFrom(to_timestamp(time))
        return self.transport.unary(
            self.stub.GetActiveRelease, request, pb.GetActiveReleaseResponse
        )

    def get_app_at(self, name: str, *, position: int = 0, time: datetime | None = None) -> pb.AppAt:
        request = pb.GetAppAtRequest(name=name, as_of_position=position)
        if time is not None:
            request.as_of_time.CopyFrom(to_timestamp(time))
        return self.transport.unary(self.stub.GetAppAt, request, pb.AppAt)

    def list_tasks(self, app: str) -> list[pb.Task]:
        """Where the app's tasks run now, by service, slot, newest first (not paged)."""
        request = pb.ListTasksRequest(app=app)
        return list(self.transport.unary(self.stub.ListTasks, request, pb.ListTasksResponse).tasks)

    def get_deploy_metrics(self, app: str, *, period: str, days: int) -> pb.DeployMetrics:
        request = pb.GetDeployMetricsRequest(app=app, period=period, days=days)
        return self.transport.unary(self.stub.GetDeployMetrics, request, pb.DeployMetrics)

    # ------------------------------------------------------------------ builds

    def create_build(self, app: str, *, image: str, description: str) -> pb.Build:
        metadata = pb.BuildMetadata(
            app=app, image=image, description=description, request_id=new_request_id()
        )

        def messages() -> Iterator[pb.CreateBuildRequest]:
            yield pb.CreateBuildRequest(metadata=metadata)

        return self.transport.unary(self.stub.CreateBuild, messages, pb.Build)

    def create_source_build(
        self,
        app: str,
        source: IO[bytes],
        *,
        size: int,
        digest: str,
        description: str,
        progress: Callable[[int], None] = lambda sent: None,
    ) -> pb.Build:
        """Stream a source tarball after the metadata, ``CHUNK_SIZE`` bytes a message;
        ``progress(bytes sent)`` after each chunk. A retry sends it all again under the
        same request id (the server then starts one build, not two)."""
        metadata = pb.BuildMetadata(
            app=app,
            description=description,
            request_id=new_request_id(),
            size=size,
            source_digest=digest,
        )

        def messages() -> Iterator[pb.CreateBuildRequest]:
            source.seek(0)
            yield pb.CreateBuildRequest(metadata=metadata)
            sent = 0
            while chunk := source.read(CHUNK_SIZE):
                yield pb.CreateBuildRequest(chunk=chunk)
                sent += len(chunk)
                progress(sent)

        def attempt() -> Any:
            metadata_ = self.transport.metadata()
            return self.stub.CreateBuild(messages(), timeout=UPLOAD_TIMEOUT, metadata=metadata_)

        response = self.transport.retrying(attempt)
        if not isinstance(response, pb.Build):
            raise TypeError(f"expected Build, got {type(response).__name__}")
        return response

    def get_build(self, app: str, build_id: str) -> pb.Build:
        request = pb.GetBuildRequest(app=app, id=build_id)
        return self.transport.unary(self.stub.GetBuild, request, pb.Build)

    def list_builds(self, app: str, limit: int) -> list[pb.Build]:
        def fetch(size: int, token: str) -> tuple[Sequence[pb.Build], str]:
            request = pb.ListBuildsRequest(app=app, page_size=size, page_token=token)
            page = self.transport.unary(self.stub.ListBuilds, request, pb.ListBuildsResponse)
            return page.builds, page.next_page_token

        return paginate(fetch, limit)

    def build_logs(
        self, app: str, build_id: str, *, from_seq: int = 0, follow: bool = True
    ) -> Iterator[pb.BuildLogChunk]:
        """The build's log after chunk ``from_seq``; with ``follow``, until the build ends."""
        request = pb.StreamBuildLogsRequest(
            app=app, id=build_id, from_seq=from_seq, no_follow=not follow
        )
        for chunk in self.transport.stream(
            self.stub.StreamBuildLogs, request, timeout=LOG_STREAM_TIMEOUT
        ):
            assert isinstance(chunk, pb.BuildLogChunk)
            yield chunk

    # ------------------------------------------------------------------ releases

    def get_release(self, app: str, release_id: str, reveal: bool = False) -> pb.Release:
        request = pb.GetReleaseRequest(app=app, id=release_id, reveal=reveal)
        return self.transport.unary(self.stub.GetRelease, request, pb.Release)

    def list_releases(self, app: str, limit: int) -> list[pb.Release]:
        def fetch(size: int, token: str) -> tuple[Sequence[pb.Release], str]:
            request = pb.ListReleasesRequest(app=app, page_size=size, page_token=token)
            page = self.transport.unary(self.stub.ListReleases, request, pb.ListReleasesResponse)
            return page.releases, page.next_page_token

        return paginate(fetch, limit)

    def diff_releases(self, app: str, from_id: str, to_id: str) -> pb.ReleaseDiff:
        request = pb.DiffReleasesRequest(app=app, from_release_id=from_id, to_release_id=to_id)
        return self.transport.unary(self.stub.DiffReleases, request, pb.ReleaseDiff)

    # ------------------------------------------------------------------ promotions

    def promote(
        self,
        app: str,
        release_id: str,
        *,
        deadline_seconds: int = 0,
        description: str = "",
        queue: bool = False,
    ) -> pb.Promotion:
        request = pb.PromoteReleaseRequest(
            app=app,
            release_id=release_id,
            request_id=new_request_id(),
            deadline_seconds=deadline_seconds,
            description=description,
            queue=queue,
        )
        return self.transport.unary(self.stub.PromoteRelease, request, pb.Promotion)

    def rollback(
        self,
        app: str,
        release_id: str,
        *,
        deadline_seconds: int = 0,
        description: str = "",
        queue: bool = False,
    ) -> pb.RollbackReleaseResponse:
        request = pb.RollbackReleaseRequest(
            app=app,
            release_id=release_id,
            request_id=new_request_id(),
            deadline_seconds=deadline_seconds,
            description=description,
            queue=queue,
        )
        return self.transport.unary(self.stub.RollbackRelease, request, pb.RollbackReleaseResponse)

    def get_promotion(self, app: str, promotion_id: str) -> pb.Promotion:
        request = pb.GetPromotionRequest(app=app, id=promotion_id)
        return self.transport.unary(self.stub.GetPromotion, request, pb.Promotion)

    def list_promotions(self, app: str, limit: int) -> list[pb.Promotion]:
        def fetch(size: int, token: str) -> tuple[Sequence[pb.Promotion], str]:
            request = pb.ListPromotionsRequest(app=app, page_size=size, page_token=token)
            page = self.transport.unary(
                self.stub.ListPromotions, request, pb.ListPromotionsResponse
            )
            return page.promotions, page.next_page_token

        return paginate(fetch, limit)

    def cancel_promotion(self, app: str, promotion_id: str) -> pb.Promotion:
        request = pb.CancelPromotionRequest(app=app, id=promotion_id, request_id=new_request_id())
        return self.transport.unary(self.stub.CancelPromotion, request, pb.Promotion)

    # ------------------------------------------------------------------ environment

    def get_env(self, app: str, reveal: bool = False) -> pb.Env:
        request = pb.GetEnvRequest(app=app, reveal=reveal)
        return self.transport.unary(self.stub.GetEnv, request, pb.Env)

    def update_env(self, request: pb.UpdateEnvRequest) -> pb.UpdateEnvResponse:
        """Send an env change; a ``request_id`` is added when the caller set none."""
        if not request.request_id:
            request.request_id = new_request_id()
        return self.transport.unary(self.stub.UpdateEnv, request, pb.UpdateEnvResponse)

    # ------------------------------------------------------------------ rack

    def rack_releases(self) -> list[pb.RackRelease]:
        request = pb.ListRackReleasesRequest()
        response = self.transport.unary(
            self.stub.ListRackReleases, request, pb.ListRackReleasesResponse
        )
        return list(response.releases)

    # ------------------------------------------------------------------ audit

    def get_checkpoint(self) -> pb.SignedCheckpoint:
        request = pb.GetCheckpointRequest()
        return self.transport.unary(self.stub.GetCheckpoint, request, pb.SignedCheckpoint)

    def get_consistency_proof(
        self, old_size: int, new_size: int = 0
    ) -> pb.GetConsistencyProofResponse:
        request = pb.GetConsistencyProofRequest(old_size=old_size, new_size=new_size)
        return self.transport.unary(
            self.stub.GetConsistencyProof, request, pb.GetConsistencyProofResponse
        )

    def export_events(
        self, tree_size: int, *, with_proofs: bool = True, from_position: int = 1
    ) -> Iterator[pb.ExportedEvent]:
        """The stored events up to ``tree_size`` (with their inclusion proofs in it), page
        by page, in log order."""
        token = ""
        seen: set[str] = set()
        while True:
            request = pb.ExportEventsRequest(
                from_position=from_position,
                tree_size=tree_size,
                with_proofs=with_proofs,
                page_size=EXPORT_PAGE_SIZE,
                page_token=token,
            )
            page = self.transport.unary(self.stub.ExportEvents, request, pb.ExportEventsResponse)
            yield from page.events
            token = page.next_page_token
            if not token or token in seen:
                return
            seen.add(token)
