"""Builds from source through the Builder, on the in-memory store with an in-test runtime.

The runtime here is our own implementation of the runtime port: it "builds" by reading
the unpacked source, so these tests check what the ledger does around a build (records,
log, failures, safety of the unpacking); the real Docker builds are tested in
tests/integration/runtime.
"""

from __future__ import annotations

import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application import LedgerApplication
from ledger.building import INTERRUPTED, Builder, BuildService
from ledger.commands import BuildFromSource, UpdateEnv
from ledger.domain import Build, Meta
from ledger.errors import InvalidArgument, NotFound
from ledger.manifest import Manifest
from ledger.runtime import BuildFailed, BuildLog, BuildRequest, BuiltImages
from runtime.record import RecordRuntime

DOCKERFILE = "FROM scratch\nCOPY app.sh /app.sh\n"
TWO_SERVICES = "services:\n  web:\n    port: 3000\n  worker:\n    command: sh worker.sh\n"


class SourceRuntime(RecordRuntime):
    """Builds by reading the Dockerfile of each service; fails as told."""

    def __init__(self) -> None:
        self.failure: Exception | None = None
        self.gate = threading.Event()
        self.gate.set()
        self.requests: list[BuildRequest] = []

    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        self.requests.append(request)
        self.gate.wait(10)
        tags, ids = {}, {}
        for service in request.manifest.services:
            dockerfile = request.source / service.build / service.dockerfile
            log.write(f"Step 1/1 : {dockerfile.read_text().splitlines()[0]}\n")
            tags[service.name] = f"{request.app}:{request.build_id}-{service.name}"
            ids[service.name] = f"sha256:{service.name}"
        if self.failure is not None:
            raise self.failure
        return BuiltImages(tags=tags, ids=ids)


def tarball(files: dict[str, str], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


@pytest.fixture
def runtime() -> SourceRuntime:
    return SourceRuntime()


@pytest.fixture
def builder(ledger: LedgerApplication, runtime: SourceRuntime, tmp_path: Path) -> Iterator[Builder]:
    builder = Builder(ledger, runtime, tmp_path / "sources", max_workers=0)
    yield builder
    builder.close()


@pytest.fixture
def builds(ledger: LedgerApplication, builder: Builder) -> BuildService:
    return BuildService(ledger, builder, max_source_bytes=1024 * 1024)


def build_source(builds: BuildService, meta: Meta, data: bytes, app: str = "shop") -> str:
    upload = builds.open_upload()
    upload.write(data)
    return builds.start_from_source(BuildFromSource(app=app), meta, upload).build_id


def log_of(ledger: LedgerApplication, build_id: str) -> str:
    events = ledger.events.get(Build.create_id(build_id))
    return "".join(e.text for e in events if isinstance(e, Build.LogAppended))


def test_a_successful_build_records_its_release_with_the_manifest_and_the_images(
    ledger, builds, shop, meta
):
    source = {"Dockerfile": DOCKERFILE, "ledger.yml": TWO_SERVICES, "app.sh": "echo hi\n"}

    build_id = build_source(builds, meta, tarball(source))

    build = ledger.build(shop, build_id)
    assert build.status == "succeeded"
    assert build.source.startswith("tar:sha256:")
    assert build.images == {"web": "sha256:web", "worker": "sha256:worker"}
    release = ledger.release(shop, build.release_id)
    assert (release.release_version, release.reason, release.build_id) == (1, "build", build_id)
    assert release.image == f"shop:{build_id}-web"
    assert release.images == build.images
    assert release.parsed_manifest == Manifest.parse(TWO_SERVICES)
    assert "Step 1/1 : FROM scratch" in log_of(ledger, build_id)


def test_a_source_without_ledger_yml_builds_the_one_service_web(ledger, builds, shop, meta):
    build_id = build_source(builds, meta, tarball({"Dockerfile": DOCKERFILE}))

    release = ledger.release(shop, ledger.build(shop, build_id).release_id)
    assert release.parsed_manifest == Manifest.default()


def test_the_release_of_a_build_takes_the_env_head_when_the_build_ends(
    ledger, service, builds, shop, meta, runtime
):
    service.update_env(UpdateEnv(shop, {"DB": "postgres://one"}), meta)
    build_id = build_source(builds, meta, tarball({"Dockerfile": DOCKERFILE}))

    release = ledger.release(shop, ledger.build(shop, build_id).release_id)
    assert (release.env, release.env_version) == ({"DB": "postgres://one"}, 1)


def test_a_build_the_runtime_fails_is_failed_keeps_its_log_and_has_no_release(
    ledger, builds, shop, meta, runtime
):
    runtime.failure = BuildFailed("step 2 returned a non-zero code: 1")

    build_id = build_source(builds, meta, tarball({"Dockerfile": DOCKERFILE}))

    build = ledger.build(shop, build_id)
    assert (build.status, build.error) == ("failed", "step 2 returned a non-zero code: 1")
    assert build.release_id == ""
    assert ledger.app(shop).release_count == 0
    log = log_of(ledger, build_id)
    assert "Step 1/1 : FROM scratch" in log
    assert log.endswith("build failed: step 2 returned a non-zero code: 1\n")


def test_any_other_runtime_exception_fails_the_build_as_a_runtime_error(
    ledger, builds, shop, meta, runtime
):
    runtime.failure = ConnectionError("engine went away")

    build_id = build_source(builds, meta, tarball({"Dockerfile": DOCKERFILE}))

    build = ledger.build(shop, build_id)
    assert build.status == "failed"
    assert build.error == "runtime error: ConnectionError: engine went away"


def test_an_invalid_ledger_yml_fails_the_build_with_the_manifests_message(
    ledger, builds, shop, meta, runtime
):
    source = {"Dockerfile": DOCKERFILE, "ledger.yml": "services:\n  web:\n    colour: red\n"}

    build_id = build_source(builds, meta, tarball(source))

    build = ledger.build(shop, build_id)
    assert build.status == "failed"
    assert build.error == "ledger.yml: services.web: unknown key colour"
    assert runtime.requests == []


def test_a_tarball_with_a_path_leaving_the_root_is_refused(
    ledger, builds, shop, meta, runtime, tmp_path
):
    build_id = build_source(builds, meta, tarball({"Dockerfile": DOCKERFILE, "../evil": "x"}))

    build = ledger.build(shop, build_id)
    assert build.status == "failed"
    assert "'../evil' leaves the root" in build.error
    assert not (tmp_path / "evil").exists() and runtime.requests == []


def test_a_tarball_with_a_link_leaving_the_root_is_refused(ledger, builds, shop, meta, runtime):
    data = tarball({"Dockerfile": DOCKERFILE}, links={"passwd": "../../../etc/passwd"})

    build_id = build_source(builds, meta, data)

    build = ledger.build(shop, build_id)
    assert build.status == "failed"
    assert build.error.startswith("the source tarball is refused")
    assert runtime.requests == []


def test_a_tarball_that_unpacks_to_more_than_the_limit_is_refused(
    ledger, builds, builder, shop, meta, runtime
):
    builder.max_unpacked_bytes = 64 * 1024
    data = tarball({"Dockerfile": DOCKERFILE, "zeros": "\0" * (1024 * 1024)})
    assert len(data) < 64 * 1024  # a small upload that would unpack to 1 MiB

    build_id = build_source(builds, meta, data)

    build = ledger.build(shop, build_id)
    assert (build.status, build.error) == ("failed", "the source unpacks to more than 65536 bytes")


def test_after_a_build_neither_its_source_nor_its_work_directory_is_left(
    builds, builder, shop, meta
):
    build_source(builds, meta, tarball({"Dockerfile": DOCKERFILE}))

    assert list(builder.sources.iterdir()) == []


def test_a_long_build_log_is_capped_with_one_truncation_line(ledger, runtime, tmp_path, shop, meta):
    builder = Builder(ledger, runtime, tmp_path / "capped", 0, log_options={"limit": 100})
    builds = BuildService(ledger, builder)
    source = {"Dockerfile": "FROM " + "x" * 500 + "\n"}

    build_id = build_source(builds, meta, tarball(source))

    log = log_of(ledger, build_id)
    assert log.count("log truncated") == 1
    assert "build failed" not in log and len(log) < 300


def test_a_build_still_running_after_a_crash_is_failed_on_restart(
    ledger, runtime, tmp_path, shop, meta
):
    build = Build.create(
        meta, app=shop, build_id="BABCDEFGHJK", description="", source="tar:sha256:x", image=""
    )
    build.start(meta)
    ledger.save(build)  # what a ledgerd killed mid-build leaves behind
    restarted = Builder(ledger, runtime, tmp_path / "sources", max_workers=0)

    restarted.resume(["BABCDEFGHJK"])

    build = ledger.build(shop, "BABCDEFGHJK")
    assert (build.status, build.error) == ("failed", INTERRUPTED)
    assert log_of(ledger, "BABCDEFGHJK") == f"build failed: {INTERRUPTED}\n"


def test_commands_on_the_same_app_complete_while_its_build_runs(
    ledger, service, runtime, tmp_path, shop, meta
):
    builder = Builder(ledger, runtime, tmp_path / "sources", max_workers=1)
    builds = BuildService(ledger, builder)
    runtime.gate.clear()
    build_id = build_source(builds, meta, tarball({"Dockerfile": DOCKERFILE}))
    try:
        outcome = service.update_env(UpdateEnv(shop, {"A": "1"}), meta)  # does not wait

        assert outcome.env_version == 1
        assert ledger.build(shop, build_id).status == "running"
    finally:
        runtime.gate.set()
        builder.close()
    release = ledger.release(shop, ledger.build(shop, build_id).release_id)
    assert release.env == {"A": "1"}


def test_a_retried_source_build_request_returns_the_original_build(ledger, builds, builder, shop):
    data = tarball({"Dockerfile": DOCKERFILE})
    retry = Meta(actor="ci", request_id="build-42")

    first = build_source(builds, retry, data)
    second = build_source(builds, retry, data)

    assert first == second
    assert ledger.app(shop).release_count == 1
    assert list(builder.sources.iterdir()) == []


def test_a_build_for_an_unknown_app_is_refused_before_anything_is_received(builds):
    with pytest.raises(NotFound):
        builds.check_source_build(BuildFromSource(app="nope"))


def test_an_upload_past_the_limit_is_refused_and_leaves_no_file(builds, builder, shop):
    upload = builds.open_upload()

    with pytest.raises(InvalidArgument, match="larger than the limit"):
        upload.write(b"x" * (1024 * 1024 + 1))

    assert list(builder.sources.iterdir()) == []
