"""Builds from source through real gRPC, on SQLite files and on PostgreSQL.

ledgerd runs with the record runtime (it refuses to build: the build is recorded failed
with its reason in the log), or with a small in-test runtime swapped in where a build
must run and succeed. Real Docker builds are in tests/integration/runtime.
"""

from __future__ import annotations

import dataclasses
import io
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from ledger.runtime import BuildLog, BuildRequest, BuiltImages
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from runtime.record import RecordRuntime
from server.infra.settings import Settings
from tests.integration.server.helpers import all_events, create_app, rpc_error
from tests.support.ledgerd import InProcessLedgerd

CHUNK = 64 * 1024
LIMIT = 256 * 1024


def source_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


SOURCE = source_tarball({"Dockerfile": b"FROM scratch\n"})


def upload(data: bytes, app: str = "web", **metadata: object) -> Iterator[pb.CreateBuildRequest]:
    yield pb.CreateBuildRequest(metadata=pb.BuildMetadata(app=app, **metadata))  # type: ignore[arg-type]
    for start in range(0, len(data), CHUNK):
        yield pb.CreateBuildRequest(chunk=data[start : start + CHUNK])


def log_text(client: LedgerStub, build_id: str, from_seq: int = 0) -> str:
    request = pb.StreamBuildLogsRequest(app="web", id=build_id, from_seq=from_seq)
    return b"".join(chunk.data for chunk in client.StreamBuildLogs(request, timeout=15)).decode()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def ended_build(client: LedgerStub, build_id: str) -> pb.Build:
    request = pb.GetBuildRequest(app="web", id=build_id)
    wait_for(lambda: client.GetBuild(request).status in ("succeeded", "failed"))
    return client.GetBuild(request)


def sources_of(ledgerd: InProcessLedgerd) -> list[Path]:
    directory = ledgerd.settings.data_dir / "sources"
    return list(directory.iterdir()) if directory.is_dir() else []


@pytest.fixture
def small_ledgerd(ledgerd_settings: Settings) -> Iterator[InProcessLedgerd]:
    """A ledgerd that accepts sources of at most 256 KiB."""
    settings = dataclasses.replace(ledgerd_settings, max_source_bytes=LIMIT)
    with InProcessLedgerd(settings) as server:
        yield server


@pytest.fixture
def small_client(small_ledgerd: InProcessLedgerd) -> Iterator[LedgerStub]:
    with small_ledgerd.channel() as channel:
        yield LedgerStub(channel)


def test_a_source_larger_than_the_limit_is_refused_and_nothing_is_recorded(
    small_ledgerd: InProcessLedgerd, small_client: LedgerStub
) -> None:
    create_app(small_client, "web")
    before = all_events(small_client)
    too_big = b"x" * (LIMIT + CHUNK)

    error = rpc_error(lambda: small_client.CreateBuild(upload(too_big)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "larger than the limit" in error.details()
    assert all_events(small_client) == before
    assert sources_of(small_ledgerd) == []


def test_a_source_announced_larger_than_the_limit_is_refused_before_it_is_sent(
    small_ledgerd: InProcessLedgerd, small_client: LedgerStub
) -> None:
    create_app(small_client, "web")
    before = all_events(small_client)

    error = rpc_error(lambda: small_client.CreateBuild(upload(b"", size=LIMIT + 1)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert all_events(small_client) == before


def test_an_upload_cancelled_halfway_records_nothing_and_leaves_no_file(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client, "web")
    before = all_events(ledgerd_client)
    halfway = threading.Event()

    def stalling_upload() -> Iterator[pb.CreateBuildRequest]:
        yield from upload(b"x" * (2 * 1024 * 1024))
        halfway.wait(10)  # the client never finishes its stream

    call = ledgerd_client.CreateBuild.future(stalling_upload())
    wait_for(lambda: any(path.stat().st_size > 0 for path in sources_of(ledgerd)))

    call.cancel()
    halfway.set()

    wait_for(lambda: sources_of(ledgerd) == [])
    assert all_events(ledgerd_client) == before


def test_a_build_for_an_unknown_app_is_not_found_and_nothing_is_stored(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    error = rpc_error(lambda: ledgerd_client.CreateBuild(upload(SOURCE, app="nope")))

    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert sources_of(ledgerd) == []


def test_a_build_with_both_an_image_and_source_chunks_is_invalid_argument(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")

    error = rpc_error(lambda: ledgerd_client.CreateBuild(upload(SOURCE, image="web:1")))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_source_whose_digest_is_not_the_one_announced_is_refused(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")

    error = rpc_error(lambda: ledgerd_client.CreateBuild(upload(SOURCE, source_digest="0" * 64)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "digest" in error.details()


def test_the_logs_of_a_finished_build_are_its_whole_log(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client, "web")
    created = ledgerd_client.CreateBuild(upload(SOURCE))
    build = ended_build(ledgerd_client, created.id)

    text = log_text(ledgerd_client, build.id)

    assert build.status == "failed"  # the record runtime builds nothing
    assert "the record runtime builds nothing" in build.error
    assert text.startswith(f"building {build.id} of web from tar:sha256:")
    assert text.endswith(f"build failed: {build.error}\n")
    assert build.release_id == ""


class SlowRuntime(RecordRuntime):
    """Writes a line, waits for the test to open its gate, writes another, succeeds."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        log.write("first line\n")
        self.gate.wait(15)
        log.write("second line\n")
        tag = f"{request.app}:{request.build_id}"
        return BuiltImages(tags={"web": tag}, ids={"web": "sha256:built"})


@pytest.fixture
def slow_runtime(monkeypatch: pytest.MonkeyPatch) -> SlowRuntime:
    runtime = SlowRuntime()
    monkeypatch.setattr("server.bootstrap.make_runtime", lambda settings: runtime)
    return runtime


def test_the_logs_of_a_running_build_are_followed_until_it_ends(
    slow_runtime: SlowRuntime, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client, "web")
    created = ledgerd_client.CreateBuild(upload(SOURCE))
    assert created.status == "running"
    request = pb.StreamBuildLogsRequest(app="web", id=created.id)
    stream = ledgerd_client.StreamBuildLogs(request, timeout=15)

    first = next(stream).data.decode()
    slow_runtime.gate.set()
    rest = b"".join(chunk.data for chunk in stream).decode()

    assert first.startswith("building ") and "first line\n" in first + rest
    assert "second line\n" in rest
    build = ledgerd_client.GetBuild(pb.GetBuildRequest(app="web", id=created.id))
    assert build.status == "succeeded"
    assert dict(build.images) == {"web": "sha256:built"}
    release = ledgerd_client.GetRelease(pb.GetReleaseRequest(app="web", id=build.release_id))
    assert (release.build_id, release.image) == (build.id, f"web:{build.id}")


def test_the_logs_from_a_seq_are_only_the_chunks_after_it(
    slow_runtime: SlowRuntime, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client, "web")
    created = ledgerd_client.CreateBuild(upload(SOURCE))
    stored = pb.StreamBuildLogsRequest(app="web", id=created.id, no_follow=True)
    wait_for(lambda: len(list(ledgerd_client.StreamBuildLogs(stored, timeout=15))) == 1)
    slow_runtime.gate.set()  # the rest of the output comes in a later chunk
    ended_build(ledgerd_client, created.id)
    request = pb.StreamBuildLogsRequest(app="web", id=created.id)
    chunks = list(ledgerd_client.StreamBuildLogs(request, timeout=15))
    assert [chunk.seq for chunk in chunks] == list(range(1, len(chunks) + 1))
    assert len(chunks) >= 2

    later = log_text(ledgerd_client, created.id, from_seq=1)

    assert later == b"".join(chunk.data for chunk in chunks[1:]).decode()
    assert "second line\n" in later
