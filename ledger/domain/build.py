"""The Build aggregate: created → running → succeeded | failed."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.errors import FailedPrecondition
from ledger.ids import BUILD, aggregate_id


class BuildStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Build(Aggregate):
    """An image (built from source or referenced) plus metadata.

    A succeeded build names the release it created; a failed build creates none.
    """

    TOPIC = "ledger:Build"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:BuildCreated"
        build_id: str
        description: str
        source: str
        image: str

    class Started(LedgerEvent):
        TOPIC = "ledger:BuildStarted"
        build_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = BuildStatus.RUNNING
            aggregate.started_at = self.timestamp

    class Succeeded(LedgerEvent):
        TOPIC = "ledger:BuildSucceeded"
        build_id: str
        image: str
        image_id: str
        release_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = BuildStatus.SUCCEEDED
            aggregate.image = self.image
            aggregate.image_id = self.image_id
            aggregate.release_id = self.release_id
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
    ) -> None:
        self.app = app
        self.build_id = build_id
        self.description = description
        self.source = source
        self.image = image
        self.image_id = ""
        self.status = BuildStatus.CREATED
        self.release_id = ""
        self.error = ""
        self.started_at: Any = None
        self.ended_at: Any = None

    @staticmethod
    def create_id(build_id: str, **_: Any) -> Any:
        return aggregate_id(BUILD, build_id)

    @classmethod
    def create(
        cls, meta: Meta, *, app: str, build_id: str, description: str, source: str, image: str
    ) -> Build:
        return cls(
            app=app,
            actor=meta.actor,
            request_id=meta.request_id,
            build_id=build_id,
            description=description,
            source=source,
            image=image,
        )

    def start(self, meta: Meta) -> None:
        self._expect(BuildStatus.CREATED)
        self.trigger_event(self.Started, **self._stamp(meta))

    def succeed(self, meta: Meta, *, image: str, image_id: str, release_id: str) -> None:
        self._expect(BuildStatus.RUNNING)
        self.trigger_event(
            self.Succeeded,
            **self._stamp(meta),
            image=image,
            image_id=image_id,
            release_id=release_id,
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
