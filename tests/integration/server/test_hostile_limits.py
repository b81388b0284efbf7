"""The message size limit and the per-key request rate limit, through real gRPC.

The module's ledgerd (SQLite) runs with small limits: messages of at most 128 KiB, and
2 requests per second per key in bursts of 10. A request over either limit is
RESOURCE_EXHAUSTED with a one-line message and records nothing; a key over its rate
may call again once its bucket refills, and other keys are not held back meanwhile.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from concurrent.futures import Future

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from server.infra.settings import MIN_MESSAGE_BYTES, Settings
from tests.integration.server.helpers import create_app, rpc_error
from tests.integration.server.hostile import CALL_TIMEOUT, check_refusal
from tests.support.auth import bearer, create_key
from tests.support.ledgerd import InProcessLedgerd

MESSAGE_LIMIT = MIN_MESSAGE_BYTES
RATE = 2
BURST = 10
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
RETRY_IN = re.compile(r"retry in (\d+\.\d+) s")
KEY_NUMBERS = itertools.count(1)


@pytest.fixture(scope="module")
def hostile_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A ledger with small limits (overrides the conftest's default one)."""
    return Settings(
        data_dir=tmp_path_factory.mktemp("limits") / "ledger",
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
        max_message_bytes=MESSAGE_LIMIT,
        rate_limit=RATE,
        rate_burst=BURST,
    )


@pytest.fixture(scope="module")
def ledger(hostile_channel: grpc.Channel) -> LedgerStub:
    """A client signed in as the admin, with an app ``gamma`` to aim at."""
    client = LedgerStub(hostile_channel)
    create_app(client, "gamma")
    return client


@pytest.fixture
def new_key(hostile_channel: grpc.Channel) -> Callable[..., str]:
    """``new_key(role, *apps)``: the token of a fresh key (a bucket of its own)."""

    def make(role: str, *apps: str) -> str:
        return create_key(hostile_channel, f"key-{next(KEY_NUMBERS)}", role, *apps)[1]

    return make


def head(ledgerd: InProcessLedgerd) -> int:
    return ledgerd.container.ledger.head()


def outcomes(futures: list[Future[object]]) -> tuple[int, list[grpc.RpcError]]:
    """How many calls were answered, and the errors of the others."""
    errors = [error for future in futures if isinstance(error := future.exception(), grpc.RpcError)]
    return len(futures) - len(errors), errors


def retry_after(error: grpc.RpcError) -> float:
    match = RETRY_IN.search(error.details() or "")
    assert match, f"the refusal does not say when to retry: {error.details()!r}"
    return float(match.group(1))


# --- message size ---


def test_a_request_larger_than_the_message_limit_is_resource_exhausted_and_records_nothing(
    hostile_ledgerd: InProcessLedgerd, ledger: LedgerStub
) -> None:
    before = head(hostile_ledgerd)

    error = rpc_error(lambda: ledger.CreateApp(pb.CreateAppRequest(name="x" * MESSAGE_LIMIT)))

    assert error.code() == EXHAUSTED
    check_refusal(error, ())
    assert head(hostile_ledgerd) == before
    assert ledger.GetApp(pb.GetAppRequest(name="gamma")).name == "gamma"


def test_a_request_just_under_the_message_limit_reaches_the_server_s_own_checks(
    hostile_ledgerd: InProcessLedgerd, ledger: LedgerStub
) -> None:
    before = head(hostile_ledgerd)

    request = pb.CreateAppRequest(name="x" * (MESSAGE_LIMIT - 100))
    error = rpc_error(lambda: ledger.CreateApp(request))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    check_refusal(error, ())
    assert head(hostile_ledgerd) == before


def test_a_source_chunk_larger_than_the_message_limit_ends_the_upload_and_records_nothing(
    hostile_ledgerd: InProcessLedgerd, ledger: LedgerStub
) -> None:
    messages = [
        pb.CreateBuildRequest(metadata=pb.BuildMetadata(app="gamma")),
        pb.CreateBuildRequest(chunk=b"\0" * (MESSAGE_LIMIT + 1)),
    ]
    before = head(hostile_ledgerd)

    error = rpc_error(lambda: ledger.CreateBuild(iter(messages), timeout=CALL_TIMEOUT))

    assert error.code() == EXHAUSTED
    check_refusal(error, ())
    assert head(hostile_ledgerd) == before
    sources = hostile_ledgerd.settings.data_dir / "sources"
    deadline = time.monotonic() + 10
    while sources.is_dir() and list(sources.glob("upload-*.part")):
        assert time.monotonic() < deadline, "the refused upload left its file behind"
        time.sleep(0.02)


# --- request rate ---


def test_a_burst_above_the_rate_limit_is_refused_until_the_key_s_bucket_refills(
    hostile_channel: grpc.Channel, new_key: Callable[..., str]
) -> None:
    keys = KeysStub(hostile_channel)
    busy, other = new_key("auditor"), new_key("auditor")

    burst = [
        keys.WhoAmI.future(pb.WhoAmIRequest(), metadata=bearer(busy), timeout=CALL_TIMEOUT)
        for _ in range(4 * BURST)
    ]
    answered, errors = outcomes(burst)

    assert answered >= BURST
    assert errors, "a burst of four times the limit was let through"
    for error in errors:
        assert error.code() == EXHAUSTED
        check_refusal(error, ())
        assert "rate limit" in (error.details() or "")
    # Another key is not held back by the busy one.
    assert keys.WhoAmI(pb.WhoAmIRequest(), metadata=bearer(other)).role == "auditor"
    # The busy key may call again once its bucket has refilled, as the refusal said.
    time.sleep(max(retry_after(error) for error in errors) + 0.05)
    assert keys.WhoAmI(pb.WhoAmIRequest(), metadata=bearer(busy)).role == "auditor"


def test_a_change_refused_by_the_rate_limit_records_nothing(
    hostile_ledgerd: InProcessLedgerd, ledger: LedgerStub, new_key: Callable[..., str]
) -> None:
    token = new_key("deployer", "gamma")
    reads = [
        ledger.GetApp.future(
            pb.GetAppRequest(name="gamma"), metadata=bearer(token), timeout=CALL_TIMEOUT
        )
        for _ in range(2 * BURST)
    ]
    outcomes(reads)
    before = head(hostile_ledgerd)

    change = pb.UpdateEnvRequest(app="gamma", set={"LEVEL": "debug"})
    error = rpc_error(lambda: ledger.UpdateEnv(change, metadata=bearer(token)))

    assert error.code() == EXHAUSTED
    assert head(hostile_ledgerd) == before


def test_health_checks_are_never_rate_limited(hostile_ledgerd: InProcessLedgerd) -> None:
    with grpc.insecure_channel(hostile_ledgerd.address) as anonymous:
        health = health_pb2_grpc.HealthStub(anonymous)
        checks = [
            health.Check.future(health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT)
            for _ in range(4 * BURST)
        ]
        assert all(
            check.result().status == health_pb2.HealthCheckResponse.SERVING for check in checks
        )
