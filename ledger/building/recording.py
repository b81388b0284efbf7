"""What a build records when it ends, shared by image builds and builds from source."""

from __future__ import annotations

from typing import Any

from ledger.domain import App, Build, Meta, Release, ReleaseReason
from ledger.ids import RELEASE, new_id


def release_build(
    app: App,
    build: Build,
    meta: Meta,
    *,
    image: str,
    image_id: str,
    images: dict[str, str],
    manifest: dict[str, Any],
) -> Release:
    """Mark ``build`` succeeded and create its release (unpromoted, the app's env head).

    The caller saves ``build``, the returned release and ``app`` in ONE transaction, so a
    succeeded build always names a release that exists.
    """
    release_id = new_id(RELEASE)
    version = app.next_release_version()
    app.register_release(meta, release_id, version)
    release = Release.create(
        meta,
        app=app.name,
        release_id=release_id,
        release_version=version,
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
    build.succeed(
        meta,
        image=image,
        image_id=image_id,
        release_id=release_id,
        images=images,
        manifest=manifest,
    )
    return release
