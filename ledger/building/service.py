"""Use cases of builds: record a build of an existing image, or start one from source.

Apart from :class:`~ledger.service.LedgerService` because a build from source is not one
short command: its source arrives as an upload (refused before a byte is stored when the
app is unknown, and past a size limit), the build is recorded as started, and the
:class:`~ledger.building.Builder` runs it in the background and records its end.
"""

from __future__ import annotations

from dataclasses import replace

from ledger import releasing
from ledger.application import Decision, LedgerApplication
from ledger.building.builder import Builder
from ledger.building.source import SourceUpload
from ledger.commands import BuildFromSource, CreateBuild, Outcome
from ledger.domain import Build, Meta
from ledger.errors import InvalidArgument
from ledger.ids import BUILD, new_id
from ledger.manifest import Manifest

MAX_TEXT = 1000
MAX_IMAGE = 512


class BuildService:
    """Build commands, each atomic and idempotent by request id."""

    def __init__(
        self,
        ledger: LedgerApplication,
        builder: Builder,
        max_source_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        self.ledger = ledger
        self.builder = builder
        self.runtime = builder.runtime
        self.max_source_bytes = max_source_bytes

    def create_from_image(self, command: CreateBuild, meta: Meta) -> Outcome:
        """Record a build of an image the runtime has, and its release (unpromoted).

        Nothing is built, so the build is created, started and succeeded in the same
        transaction as its release: the release runs the image as the one service ``web``.
        A retry is answered before the runtime is asked about the image again.
        """
        if (original := self.ledger.answered("CreateBuild", command, meta)) is not None:
            return original
        _check_description(command.description)
        image = command.image.strip()
        if not image or len(image) > MAX_IMAGE or not all(_in_reference(c) for c in image):
            raise InvalidArgument("image must be a reference like registry/name:tag")
        self.ledger.app(command.app)
        image_id = self.runtime.resolve_image(image)
        build_id = new_id(BUILD)

        def handle() -> Decision:
            app = self.ledger.app(command.app)
            build = Build.create(
                meta,
                app=app.name,
                build_id=build_id,
                description=command.description,
                source=f"image:{image}",
                image=image,
            )
            build.start(meta)
            released = releasing.release_build(
                app,
                build,
                meta,
                image=image,
                image_id=image_id,
                images={"web": image_id},
                manifest=Manifest.default(image).to_dict(),
            )
            release_id = released.release.release_id
            outcome = Outcome(app=app.name, build_id=build_id, release_id=release_id)
            return Decision(outcome, released.changed)

        return self.ledger.execute("CreateBuild", command, meta, handle, command.app)

    def check_source_build(self, command: BuildFromSource) -> None:
        """Refuse a build from source before any of it is received: unknown app (NOT_FOUND),
        a description too long or an announced size past the limit (INVALID_ARGUMENT)."""
        _check_description(command.description)
        if command.size < 0:
            raise InvalidArgument("size must not be negative")
        if command.size > self.max_source_bytes:
            raise InvalidArgument(
                f"the source is larger than the limit of {self.max_source_bytes} bytes"
            )
        self.ledger.app(command.app)

    def open_upload(self) -> SourceUpload:
        """A file to receive a source tarball into (``discard`` it if the upload fails)."""
        return SourceUpload(self.builder.sources, self.max_source_bytes)

    def start_from_source(
        self, command: BuildFromSource, meta: Meta, upload: SourceUpload
    ) -> Outcome:
        """Record a build of the uploaded source as started and hand it to the builder.

        ``command.size`` and ``command.digest`` are what the client announced (checked
        when given). A retried request (same request id, same source) returns the original
        build and starts nothing.
        """
        self.check_source_build(command)
        digest = upload.finish(command.size, command.digest)
        recorded = replace(command, size=upload.size, digest=digest)
        build_id = new_id(BUILD)
        source = self.builder.source_path(build_id)
        upload.keep(source)

        def handle() -> Decision:
            app = self.ledger.app(command.app)
            build = Build.create(
                meta,
                app=app.name,
                build_id=build_id,
                description=command.description,
                source=f"tar:sha256:{digest}",
                image="",
            )
            build.start(meta)
            return Decision(Outcome(app=app.name, build_id=build_id), (build,))

        try:
            outcome = self.ledger.execute("CreateBuild", recorded, meta, handle, command.app)
        except BaseException:
            source.unlink(missing_ok=True)
            raise
        if outcome.build_id != build_id:  # a retry: the original build has its own source
            source.unlink(missing_ok=True)
            return outcome
        self.builder.submit(build_id)
        return outcome


def _check_description(description: str) -> None:
    """Bounded, and without NUL, which PostgreSQL cannot store in the projections."""
    if len(description) > MAX_TEXT:
        raise InvalidArgument(f"description is longer than {MAX_TEXT} characters")
    if "\x00" in description:
        raise InvalidArgument("description contains a NUL byte")


def _in_reference(character: str) -> bool:
    """Whether an image reference may hold ``character``: printable, not a space."""
    return character.isprintable() and not character.isspace()
