"""Creating a release: the one place a release is made, whatever it is made from.

A release is made from a build that succeeded (:func:`release_build`), from an env change
on a base release (:func:`release_env_change`) or as the copy a rollback promotes
(:func:`release_rollback`); each registers the release with its app, so versions count
up one by one and are never reused. The functions change only the aggregates they are
given and return them, for the use case to save in ONE transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.domain import App, Build, Meta, Release, ReleaseReason
from ledger.ids import RELEASE, new_id


@dataclass(frozen=True)
class Released:
    """A release created, and every aggregate changed to create it."""

    release: Release
    changed: tuple[Aggregate, ...]


def create_release(
    app: App,
    meta: Meta,
    *,
    build_id: str,
    image: str,
    env: Mapping[str, str],
    env_version: int,
    reason: ReleaseReason,
    parent_id: str,
    description: str,
    manifest: dict[str, Any],
    images: Mapping[str, str],
) -> Released:
    """The app's next release (the ONLY place one is created), registered with the app
    so that versions count up one by one and are never reused."""
    release_id = new_id(RELEASE)
    version = app.next_release_version()
    app.register_release(meta, release_id, version)
    release = Release.create(
        meta,
        app=app.name,
        release_id=release_id,
        release_version=version,
        build_id=build_id,
        image=image,
        env=dict(env),
        env_version=env_version,
        reason=reason,
        parent_id=parent_id,
        description=description,
        manifest=manifest,
        images=dict(images),
    )
    return Released(release, (app, release))


def release_build(
    app: App,
    build: Build,
    meta: Meta,
    *,
    image: str,
    image_id: str,
    images: dict[str, str],
    manifest: dict[str, Any],
) -> Released:
    """Mark ``build`` succeeded and create its release: unpromoted, with the env head
    (saved together: a succeeded build always names a release that exists)."""
    released = create_release(
        app,
        meta,
        build_id=build.build_id,
        image=image,
        env=app.env,
        env_version=app.env_version,
        reason=ReleaseReason.BUILD,
        parent_id="",
        description=build.description,
        manifest=manifest,
        images=images,
    )
    release = released.release
    build.succeed(
        meta,
        image=image,
        image_id=image_id,
        release_id=release.release_id,
        images=images,
        manifest=manifest,
    )
    return Released(release, (build, release, app))


def release_env_change(app: App, base: Release, meta: Meta, description: str) -> Released:
    """A release of ``base``'s build with the env head (just changed by a person)."""
    return _derive(app, base, meta, ReleaseReason.ENV, app.env, app.env_version, description)


def release_rollback(app: App, target: Release, meta: Meta, description: str) -> Released:
    """A copy of ``target``, env and env version included. The env head is left alone:
    it follows the copy when the copy is made active."""
    env, version = target.env, target.env_version
    return _derive(app, target, meta, ReleaseReason.ROLLBACK, env, version, description)


def _derive(
    app: App,
    base: Release,
    meta: Meta,
    reason: ReleaseReason,
    env: Mapping[str, str],
    env_version: int,
    description: str,
) -> Released:
    """A release of ``base``'s build, manifest and images (parent ``base``) with ``env``."""
    return create_release(
        app,
        meta,
        build_id=base.build_id,
        image=base.image,
        env=env,
        env_version=env_version,
        reason=reason,
        parent_id=base.release_id,
        description=description,
        manifest=base.manifest,
        images=base.images,
    )
