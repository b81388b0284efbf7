"""The streaming RPCs against hostile input: CreateBuild (client stream), WatchEvents,
StreamBuildLogs and RunCommand (server streams).

Source uploads that the client cancels halfway, or ends short of what it announced,
record nothing and leave no file behind; CreateBuild streams of random messages (a chunk
first, two metadata messages, random bytes) are answered or refused cleanly; watches and
log streams from random positions and ids answer or refuse cleanly and survive being
cancelled early; one-off commands of random apps, services, releases and argv answer or
refuse cleanly, and a refused one records nothing. After each, the server keeps serving.
One seeded ledgerd (SQLite) serves the whole module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ledger.ids import BUILD, RELEASE
from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.server.hostile import (
    CALL_TIMEOUT,
    CALLERS,
    HOSTILE,
    Hostile,
    app_names,
    check_refusal,
    descriptions,
    ids,
    int64s,
    junk_text,
    optional_app_names,
    optional_ids,
    request_ids,
    source_tarball,
)
from tests.support.ledgerd import InProcessLedgerd

UPLOAD_GLOB = "upload-*.part"


def uploads_in_progress(ledgerd: InProcessLedgerd) -> list[Path]:
    """The partial source uploads the server holds (none once a call is over)."""
    sources = ledgerd.settings.data_dir / "sources"
    return list(sources.glob(UPLOAD_GLOB)) if sources.is_dir() else []


def wait_until_no_upload(ledgerd: InProcessLedgerd, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while uploads_in_progress(ledgerd):
        assert time.monotonic() < deadline, "a cancelled upload left its file behind"
        time.sleep(0.02)


def chunks() -> SearchStrategy[list[bytes]]:
    """Random source chunks: small ones, and some past the server's 1 MiB write buffer."""
    return st.lists(
        st.one_of(st.binary(max_size=4096), st.sampled_from([b"\0" * 65536, b"x" * 1_100_000])),
        max_size=6,
    )


# --- CreateBuild: uploads that stop halfway ---


@HOSTILE
@given(
    app=st.sampled_from(["alpha", "beta"]),
    sent=chunks(),
    announced=st.one_of(st.just(0), st.integers(1, 10_000_000)),
)
def test_a_source_upload_cancelled_halfway_records_nothing_and_leaves_no_file(
    hostile: Hostile, app: str, sent: list[bytes], announced: int
) -> None:
    before = hostile.head()
    all_sent, release = threading.Event(), threading.Event()

    def stream() -> Iterator[pb.CreateBuildRequest]:
        yield pb.CreateBuildRequest(metadata=pb.BuildMetadata(app=app, size=announced))
        for chunk in sent:
            yield pb.CreateBuildRequest(chunk=chunk)
        all_sent.set()
        release.wait(CALL_TIMEOUT)  # the rest of the source never comes

    call = hostile.ledger.CreateBuild.future(stream(), timeout=CALL_TIMEOUT)
    try:
        assert all_sent.wait(CALL_TIMEOUT)
        time.sleep(0.02)  # let the server take in what was sent
        cancelled = call.cancel()
    finally:
        release.set()

    if cancelled:
        with pytest.raises(grpc.FutureCancelledError):
            call.result()
    else:  # the server had refused the upload already
        refusal = call.exception()
        assert isinstance(refusal, grpc.RpcError)
        check_refusal(refusal, hostile.secrets)
    wait_until_no_upload(hostile.ledgerd)
    assert hostile.head() == before
    hostile.still_serving()


@HOSTILE
@given(app=st.sampled_from(["alpha", "beta"]), sent=chunks(), missing=st.integers(1, 1_000_000))
def test_a_source_upload_that_ends_short_of_its_announced_size_is_refused(
    hostile: Hostile, app: str, sent: list[bytes], missing: int
) -> None:
    announced = sum(map(len, sent)) + missing
    messages = [pb.CreateBuildRequest(metadata=pb.BuildMetadata(app=app, size=announced))]
    messages += [pb.CreateBuildRequest(chunk=chunk) for chunk in sent]
    before = hostile.head()

    with pytest.raises(grpc.RpcError) as refused:
        hostile.ledger.CreateBuild(iter(messages), timeout=CALL_TIMEOUT)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    check_refusal(refused.value, hostile.secrets)
    assert hostile.head() == before
    assert not uploads_in_progress(hostile.ledgerd)
    hostile.still_serving()


# --- CreateBuild: random streams ---


def metadata() -> SearchStrategy[pb.CreateBuildRequest]:
    fields = st.builds(
        pb.BuildMetadata,
        app=app_names(),
        image=st.one_of(st.just(""), st.sampled_from(["shop:1", "a b", "x" * 600]), junk_text()),
        description=descriptions(),
        request_id=request_ids(),
        size=st.one_of(st.just(0), int64s()),
        source_digest=st.one_of(st.just(""), st.sampled_from(["0" * 64, "Z" * 64]), junk_text()),
    )
    return fields.map(lambda meta: pb.CreateBuildRequest(metadata=meta))


def chunk_messages() -> SearchStrategy[pb.CreateBuildRequest]:
    data = st.one_of(st.binary(max_size=2048), st.just(source_tarball()))
    return data.map(lambda chunk: pb.CreateBuildRequest(chunk=chunk))


def build_streams() -> SearchStrategy[list[pb.CreateBuildRequest]]:
    """No message, a chunk first, several metadata messages, and any mix of the two."""
    return st.one_of(
        st.lists(st.one_of(metadata(), chunk_messages()), max_size=5),
        st.tuples(chunk_messages(), st.lists(chunk_messages(), max_size=2)).map(
            lambda first_rest: [first_rest[0], *first_rest[1]]
        ),
        st.lists(metadata(), min_size=2, max_size=3),
        st.tuples(metadata(), st.lists(chunk_messages(), max_size=3)).map(
            lambda first_rest: [first_rest[0], *first_rest[1]]
        ),
    )


def test_a_create_build_stream_that_opens_with_a_chunk_is_invalid(hostile: Hostile) -> None:
    messages = [pb.CreateBuildRequest(chunk=source_tarball())]
    before = hostile.head()

    with pytest.raises(grpc.RpcError) as refused:
        hostile.ledger.CreateBuild(iter(messages), timeout=CALL_TIMEOUT)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "metadata" in (refused.value.details() or "")
    assert hostile.head() == before


def test_a_create_build_stream_with_two_metadata_messages_is_invalid(hostile: Hostile) -> None:
    opening = pb.CreateBuildRequest(metadata=pb.BuildMetadata(app="alpha"))
    before = hostile.head()

    with pytest.raises(grpc.RpcError) as refused:
        hostile.ledger.CreateBuild(iter([opening, opening]), timeout=CALL_TIMEOUT)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert hostile.head() == before
    assert not uploads_in_progress(hostile.ledgerd)


@HOSTILE
@given(messages=build_streams(), caller=st.sampled_from(CALLERS))
def test_a_random_create_build_stream_is_answered_or_refused_cleanly(
    hostile: Hostile, messages: list[pb.CreateBuildRequest], caller: str
) -> None:
    before = hostile.head()
    try:
        hostile.ledger.CreateBuild(
            iter(messages), metadata=hostile.metadata(caller), timeout=CALL_TIMEOUT
        )
    except grpc.RpcError as error:
        check_refusal(error, hostile.secrets)
        assert hostile.head() == before, "CreateBuild was refused but appended to the log"
    else:
        hostile.settle()
    assert not uploads_in_progress(hostile.ledgerd)
    hostile.still_serving()


# --- server streams, cancelled early ---


@HOSTILE
@given(
    request=st.builds(
        pb.WatchEventsRequest,
        from_position=int64s(),
        app=optional_app_names(),
        from_head=st.booleans(),
    ),
    caller=st.sampled_from(CALLERS),
)
def test_a_watch_from_a_random_position_answers_or_refuses_cleanly_and_can_be_cancelled(
    hostile: Hostile, request: pb.WatchEventsRequest, caller: str
) -> None:
    before = hostile.head()
    call = hostile.ledger.WatchEvents(
        request, metadata=hostile.metadata(caller), timeout=CALL_TIMEOUT
    )
    try:
        first = next(call)  # the backlog, or the "live" marker when there is none
        assert first.head_position >= 0
    except grpc.RpcError as error:
        check_refusal(error, hostile.secrets)
    finally:
        call.cancel()

    assert hostile.head() == before
    hostile.still_serving()


def log_requests(hostile: Hostile) -> SearchStrategy[pb.StreamBuildLogsRequest]:
    return st.builds(
        pb.StreamBuildLogsRequest,
        app=optional_app_names(),
        id=st.one_of(st.just(hostile.seed.source_build), ids(hostile.seed, BUILD)),
        from_seq=st.one_of(st.just(0), int64s()),
        no_follow=st.booleans(),
    )


@HOSTILE
@given(data=st.data())
def test_build_logs_of_a_random_build_answer_or_refuse_cleanly_and_can_be_cancelled(
    hostile: Hostile, data: st.DataObject
) -> None:
    request = data.draw(log_requests(hostile), label="request")
    caller = data.draw(st.sampled_from(CALLERS), label="caller")
    wanted = data.draw(st.integers(0, 3), label="chunks read before cancelling")
    before = hostile.head()

    call = hostile.ledger.StreamBuildLogs(
        request, metadata=hostile.metadata(caller), timeout=CALL_TIMEOUT
    )
    try:
        for _, chunk in zip(range(wanted), call, strict=False):
            assert chunk.seq >= 0
    except grpc.RpcError as error:
        check_refusal(error, hostile.secrets)
    finally:
        call.cancel()

    assert hostile.head() == before
    hostile.still_serving()


# --- one-off commands ---


def arguments() -> SearchStrategy[list[str]]:
    """argv: short ones, none, too many arguments, too long, with a NUL byte."""
    words = st.one_of(st.sampled_from(["echo", "hi", "rake", "db:migrate", "-c", ""]), junk_text())
    return st.one_of(
        st.lists(words, max_size=4),
        st.just(["x"] * 101),
        st.builds(lambda size: ["a" * size], st.sampled_from([4_001, 100_000])),
        st.just(["echo", "a\x00b"]),
    )


def command_requests(hostile: Hostile) -> SearchStrategy[pb.RunCommandRequest]:
    """Well-formed commands (of the active release or a named one), and random ones."""
    well_formed = st.builds(
        pb.RunCommandRequest,
        app=st.sampled_from(["alpha", "beta"]),
        service=st.just("web"),
        command=st.just(["echo", "hi"]),
        release_id=st.one_of(st.just(""), st.sampled_from(hostile.seed.ids(RELEASE))),
    )
    random = st.builds(
        pb.RunCommandRequest,
        app=app_names(),
        service=st.one_of(st.sampled_from(["web", "worker", "", "WEB", "web\n"]), junk_text()),
        command=arguments(),
        release_id=optional_ids(hostile.seed, RELEASE),
        timeout_seconds=st.one_of(st.sampled_from([0, 1, 86_400, 86_401]), int64s()),
    )
    return st.one_of(well_formed, random)


@HOSTILE
@given(data=st.data())
def test_a_random_one_off_command_answers_or_refuses_cleanly_and_a_refusal_records_nothing(
    hostile: Hostile, data: st.DataObject
) -> None:
    request = data.draw(command_requests(hostile), label="request")
    caller = data.draw(st.sampled_from(CALLERS), label="caller")
    before = hostile.head()

    call = hostile.ledger.RunCommand(
        request, metadata=hostile.metadata(caller), timeout=CALL_TIMEOUT
    )
    try:
        answers = list(call)
        assert answers and answers[-1].exited, "the command's stream ended without its exit"
    except grpc.RpcError as error:
        check_refusal(error, hostile.secrets)
        assert hostile.head() == before, "RunCommand was refused but appended to the log"
    else:
        hostile.settle()
    finally:
        call.cancel()
    hostile.still_serving()


def test_a_command_the_runtime_cannot_run_is_refused_and_records_nothing(
    hostile: Hostile,
) -> None:
    request = pb.RunCommandRequest(app="alpha", service="web", command=["echo", "hi"])
    before = hostile.head()

    with pytest.raises(grpc.RpcError) as refused:
        list(hostile.ledger.RunCommand(request, timeout=CALL_TIMEOUT))

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "runs no containers" in (refused.value.details() or "")
    assert hostile.head() == before


def test_the_server_still_serves_every_stream_after_the_hostile_ones(hostile: Hostile) -> None:
    source_build = hostile.seed.source_build
    logs = hostile.ledger.StreamBuildLogs(
        pb.StreamBuildLogsRequest(id=source_build), timeout=CALL_TIMEOUT
    )
    assert b"".join(chunk.data for chunk in logs)
    watch = hostile.ledger.WatchEvents(pb.WatchEventsRequest(), timeout=CALL_TIMEOUT)
    assert next(watch).events
    watch.cancel()
