"""Builds for tests: builds of existing images recorded straight through the application
layer, and source directories uploaded (and build logs read) over the gRPC API."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cli.source import pack
from ledger.building import Builder, BuildService
from ledger.commands import CreateBuild, Outcome
from ledger.domain import Meta
from ledger.service import LedgerService
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub

UPLOAD_CHUNK = 64 * 1024


def image_build(service: LedgerService, command: CreateBuild, meta: Meta) -> Outcome:
    """Record a build of ``command.image`` (and its release) on the service's ledger."""
    sources = Path(tempfile.gettempdir()) / "ledger-test-sources"
    builder = Builder(service.ledger, service.runtime, sources, max_workers=0)
    return BuildService(service.ledger, builder).create_from_image(command, meta)


def shop_release(service: LedgerService, meta: Meta, image: str = "shop:1") -> str:
    """The release of a build of ``image`` for the app ``shop``."""
    return image_build(service, CreateBuild("shop", image), meta).release_id


def upload(app: str, directory: Path, description: str = "") -> Iterator[pb.CreateBuildRequest]:
    """The ``CreateBuild`` stream of ``directory`` packed as ``ledgerctl build`` packs it."""
    tarball = io.BytesIO()
    packed = pack(directory, tarball)
    metadata = pb.BuildMetadata(
        app=app, size=packed.size, source_digest=packed.digest, description=description
    )
    yield pb.CreateBuildRequest(metadata=metadata)
    while chunk := tarball.read(UPLOAD_CHUNK):
        yield pb.CreateBuildRequest(chunk=chunk)


def stored_log(client: LedgerStub, app: str, build_id: str) -> str:
    """The build's whole log as stored (read once, not followed)."""
    request = pb.StreamBuildLogsRequest(app=app, id=build_id, no_follow=True)
    return b"".join(chunk.data for chunk in client.StreamBuildLogs(request, timeout=10)).decode()
