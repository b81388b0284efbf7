"""Build logs and build images in the read model, live and rebuilt, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from ledger.building import Builder, BuildService
from ledger.commands import BuildFromSource
from ledger.runtime import BuildLog, BuildRequest, BuiltImages
from projections import LedgerViews, ProjectionWorker, rebuild
from runtime.record import RecordRuntime
from tests.integration.projections.conftest import ALICE, Ledger

MANIFEST = b"services:\n  web:\n    port: 3000\n  worker: {}\n"


class ChattyRuntime(RecordRuntime):
    """Writes many lines (several log chunks) and builds one image per service."""

    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        for n in range(3000):
            log.write(f"step {n}: {'.' * 20}\n")
        names = [service.name for service in request.manifest.services]
        return BuiltImages(
            tags={name: f"{request.app}:{request.build_id}-{name}" for name in names},
            ids={name: f"sha256:{name}" for name in names},
        )


def tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in {"Dockerfile": b"FROM scratch\n", "ledger.yml": MANIFEST}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_from_source(ledger: Ledger, sources: Path) -> str:
    builds = BuildService(ledger.app, Builder(ledger.app, ChattyRuntime(), sources, 0))
    upload = builds.open_upload()
    upload.write(tarball())
    return builds.start_from_source(BuildFromSource(app="web"), ALICE, upload).build_id


def test_a_builds_log_is_read_back_in_order_and_its_images_are_shown(
    ledger: Ledger, views: LedgerViews, tmp_path: Path
) -> None:
    ledger.create_app("web")
    build_id = build_from_source(ledger, tmp_path / "sources")

    ProjectionWorker(ledger.app, views).catch_up()

    chunks = views.build_log(build_id, limit=1000)
    assert len(chunks) > 1
    assert [chunk.seq for chunk in chunks] == list(range(1, len(chunks) + 1))
    text = "".join(chunk.text for chunk in chunks)
    assert "step 0: " in text and "step 2999: " in text
    assert views.build_log(build_id, after_seq=1, limit=1000) == chunks[1:]
    build = views.get_build(build_id)
    assert build is not None and build.status == "succeeded"
    assert build.images == {"web": "sha256:web", "worker": "sha256:worker"}
    assert views.builds_in_flight() == []


def test_a_rebuild_reproduces_build_logs_and_images_exactly(
    ledger: Ledger, views: LedgerViews, tmp_path: Path
) -> None:
    ledger.create_app("web")
    ledger.deploy("web", "web:1")
    build_from_source(ledger, tmp_path / "sources")
    ProjectionWorker(ledger.app, views, batch_size=7).catch_up()
    live = views.dump()
    assert live["build_logs"]

    rebuild(ledger.app, views)

    assert views.dump() == live


def test_the_timeline_shows_the_size_of_a_log_chunk_not_its_text(
    ledger: Ledger, views: LedgerViews, tmp_path: Path
) -> None:
    ledger.create_app("web")
    build_from_source(ledger, tmp_path / "sources")
    ProjectionWorker(ledger.app, views).catch_up()

    appended = views.list_events(types=["BuildLogAppended"], limit=1000)

    assert appended and all(set(e.data) == {"build_id", "seq", "text_length"} for e in appended)
