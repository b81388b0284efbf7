"""The Build aggregate: created → running → succeeded | failed."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.errors import FailedPrecondition
from ledger.ids import BUILD, aggregate_id
from ledger.manifest import Manifest


class BuildStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Build(Aggregate):
    """An image (built from source or referenced) plus metadata.

    A succeeded build names the release it created; a failed build creates none. A build
    from source records its output as it runs (``LogAppended``, numbered from 1); the
    aggregate keeps only the number of the last chunk, the text lives in the events.
    """

    TOPIC = "ledger:Build"

    class Created(LedgerEvent, Aggregate.Created):
        """``commit``: provenance of a build from git (repository, ref, sha, author,
        message, and since deploy metrics committed_at when known), empty for other
        builds (v2)."""

        TOPIC = "ledger:BuildCreated"
        class_version = 2
        build_id: str
        description: str
        source: str
        image: str
        commit: dict[str, str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["commit"] = {}

    class Started(LedgerEvent):
        TOPIC = "ledger:BuildStarted"
        build_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = BuildStatus.RUNNING
            aggregate.started_at = self.timestamp

    class LogAppended(LedgerEvent):
        TOPIC = "ledger:BuildLogAppended"
        build_id: str
        seq: int
        text: str

        def apply(self, aggregate: Any) -> None:
            aggregate.log_seq = self.seq

    class Succeeded(LedgerEvent):
        """``images``: service → image id; ``manifest``: ``Manifest.to_dict()`` (v2)."""

        TOPIC = "ledger:BuildSucceeded"
        class_version = 2
        build_id: str
        image: str
        image_id: str
        release_id: str
        images: dict[str, str]
        manifest: dict[str, Any]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Before v2 every build was of one image, run as the one service "web".
            image_id = state.get("image_id", "")
            state["images"] = {"web": image_id} if image_id else {}
            state["manifest"] = Manifest.default(state.get("image", "")).to_dict()

        def apply(self, aggregate: Any) -> None:
            aggregate.status = BuildStatus.SUCCEEDED
            aggregate.image = self.image
            aggregate.image_id = self.image_id
            aggregate.release_id = self.release_id
            aggregate.images = dict(self.images)
            aggregate.manifest = dict(self.manifest)
            aggregate.ended_at = self.timestamp

    class Failed(LedgerEvent):
        TOPIC = "ledger:BuildFailed"
        build_id: str
        error: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = BuildStatus.FAILED
            aggregate.error = self.error
            aggregate.ended_at = self.timestamp

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        build_id: str,
        description: str,
        source: str,
        image: str,
        commit: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.commit = dict(commit or {})
        self.actor = actor
        self.request_id = request_id
        self.build_id = build_id
        self.description = description
        self.source = source
        self.image = image
        self.image_id = ""
        self.images: dict[str, str] = {}
        self.manifest: dict[str, Any] = {}
        self.status = BuildStatus.CREATED
        self.release_id = ""
        self.error = ""
        self.log_seq = 0
        self.started_at: Any = None
        self.ended_at: Any = None

    @staticmethod
    def create_id(build_id: str, **_: Any) -> Any:
        return aggregate_id(BUILD, build_id)

    @classmethod
    def create(
        cls,
        meta: Meta,
        *,
        app: str,
        build_id: str,
        description: str,
        source: str,
        image: str,
        commit: dict[str, str] | None = None,
    ) -> Build:
        return cls(
            app=app,
            actor=meta.actor,
            request_id=meta.request_id,
            build_id=build_id,
            description=description,
            source=source,
            image=image,
            commit=dict(commit or {}),
        )

    def start(self, meta: Meta) -> None:
        self._expect(BuildStatus.CREATED)
        self.trigger_event(self.Started, **self._stamp(meta))

    def append_log(self, meta: Meta, seq: int, text: str) -> None:
        """Record the next chunk of output; chunks are numbered 1, 2, 3 … without gaps."""
        self._expect(BuildStatus.RUNNING)
        if seq != self.log_seq + 1:
            raise FailedPrecondition(
                f"build {self.build_id}: log chunk {seq} does not follow chunk {self.log_seq}"
            )
        self.trigger_event(self.LogAppended, **self._stamp(meta), seq=seq, text=text)

    def succeed(
        self,
        meta: Meta,
        *,
        image: str,
        image_id: str,
        release_id: str,
        images: dict[str, str] | None = None,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        """Without ``images`` and ``manifest``: a build of one image run as service ``web``."""
        self._expect(BuildStatus.RUNNING)
        if images is None:
            images = {"web": image_id} if image_id else {}
        if manifest is None:
            manifest = Manifest.default(image).to_dict()
        self.trigger_event(
            self.Succeeded,
            **self._stamp(meta),
            image=image,
            image_id=image_id,
            release_id=release_id,
            images=dict(images),
            manifest=dict(manifest),
        )

    def fail(self, meta: Meta, error: str) -> None:
        self._expect(BuildStatus.CREATED, BuildStatus.RUNNING)
        self.trigger_event(self.Failed, **self._stamp(meta), error=error)

    def _stamp(self, meta: Meta) -> dict[str, str]:
        return {
            "app": self.app,
            "actor": meta.actor,
            "request_id": meta.request_id,
            "build_id": self.build_id,
        }

    def _expect(self, *statuses: BuildStatus) -> None:
        if self.status not in statuses:
            raise FailedPrecondition(f"build {self.build_id} is {self.status}")
