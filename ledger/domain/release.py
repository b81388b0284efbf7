"""The Release aggregate: an immutable build + full env snapshot, numbered per app."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.domain.secrecy import SecretValues
from ledger.ids import RELEASE, aggregate_id
from ledger.manifest import Manifest


class ReleaseReason(StrEnum):
    BUILD = "build"
    ENV = "env"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class ReleaseDiff:
    """What differs from one release to another: the build, and env keys (never values)."""

    build_changed: bool
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]


class Release(Aggregate):
    """Immutable once created: one event holds all of it.

    ``parent_id`` names the release it was derived from (the active or chosen base
    for an env change, the target of a rollback, empty for a build). ``manifest`` (as
    ``Manifest.to_dict()``) and ``images`` (service → image id) are the build's, so a
    release always runs the services it was built with.
    """

    TOPIC = "ledger:Release"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:ReleaseCreated"
        release_id: str
        release_version: int
        build_id: str
        image: str
        env: SecretValues
        env_version: int
        reason: str
        parent_id: str
        description: str
        manifest: dict[str, Any]
        images: dict[str, str]
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Before v2 a release ran its one image as the one service "web".
            state["manifest"] = Manifest.default(state.get("image", "")).to_dict()
            state["images"] = {}

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        release_id: str,
        release_version: int,
        build_id: str,
        image: str,
        env: dict[str, str],
        env_version: int,
        reason: str,
        parent_id: str,
        description: str,
        manifest: dict[str, Any],
        images: dict[str, str],
    ) -> None:
        self.app = app
        self.release_id = release_id
        self.release_version = release_version
        self.build_id = build_id
        self.image = image
        self.env = dict(env)
        self.env_version = env_version
        self.reason = ReleaseReason(reason)
        self.parent_id = parent_id
        self.description = description
        self.manifest = dict(manifest)
        self.images = dict(images)

    @property
    def parsed_manifest(self) -> Manifest:
        """The manifest as an object (a new one each time: the release itself never changes)."""
        return Manifest.from_dict(self.manifest)

    @staticmethod
    def create_id(release_id: str, **_: Any) -> Any:
        return aggregate_id(RELEASE, release_id)

    @classmethod
    def create(
        cls,
        meta: Meta,
        *,
        app: str,
        release_id: str,
        release_version: int,
        build_id: str,
        image: str,
        env: dict[str, str],
        env_version: int,
        reason: ReleaseReason,
        parent_id: str,
        description: str,
        manifest: dict[str, Any],
        images: dict[str, str],
    ) -> Release:
        """A new release; derived releases copy ``manifest`` and ``images`` from their base."""
        return cls(
            app=app,
            actor=meta.actor,
            request_id=meta.request_id,
            release_id=release_id,
            release_version=release_version,
            build_id=build_id,
            image=image,
            env=dict(env),
            env_version=env_version,
            reason=reason.value,
            parent_id=parent_id,
            description=description,
            manifest=dict(manifest) if manifest else Manifest.default(image).to_dict(),
            images=dict(images or {}),
        )

    def diff(self, newer: Release) -> ReleaseDiff:
        """How ``newer`` differs from this release."""
        before, after = self.env, newer.env
        return ReleaseDiff(
            build_changed=self.build_id != newer.build_id,
            added=tuple(sorted(set(after) - set(before))),
            changed=tuple(sorted(k for k in set(before) & set(after) if before[k] != after[k])),
            removed=tuple(sorted(set(before) - set(after))),
        )
