"""Every unary RPC of ``ledger.v1.Ledger`` and ``ledger.v1.Keys`` against hostile input.

For each RPC, hypothesis draws random and malformed requests (see ``hostile.py``) and a
caller (the admin, a deployer of the other app, a reader): the server answers, or
refuses with a clear code and a short one-line message showing no env value; a refusal,
or any read, appends nothing to the log; the server keeps serving. One seeded ledgerd
(SQLite) serves the whole module.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from ledger_api.v1 import ledger_pb2 as pb
from tests.integration.server.helpers import rpc_error
from tests.integration.server.hostile import (
    DEPLOYER,
    HOSTILE,
    Hostile,
    Seed,
    check_refusal,
    streaming_methods,
    unary_methods,
    unary_rpcs,
    with_cursor,
)


def test_every_unary_rpc_has_a_hostile_input_strategy(hostile_seed: Seed) -> None:
    assert set(unary_rpcs(hostile_seed)) == unary_methods()


def test_the_streaming_rpcs_are_the_ones_test_hostile_streams_covers() -> None:
    assert streaming_methods() == {"CreateBuild", "StreamBuildLogs", "WatchEvents", "RunCommand"}


@pytest.mark.parametrize("name", sorted(unary_methods()))
@HOSTILE
@given(data=st.data())
def test_a_hostile_request_is_answered_or_refused_cleanly_and_appends_nothing(
    hostile: Hostile, name: str, data: st.DataObject
) -> None:
    rpc = hostile.rpcs.get(name)
    assert rpc is not None, f"{name} has no hostile-input strategy in hostile.unary_rpcs"
    request = data.draw(rpc.requests, label="request")
    caller = data.draw(st.sampled_from(rpc.callers), label="caller")

    hostile.send(name, request, rpc, caller)


# --- the bugs hostile input found, pinned ---

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def refused(hostile: Hostile, call: Callable[[], object]) -> grpc.RpcError:
    """The error ``call`` is refused with, checked like every refusal; nothing appended."""
    before = hostile.head()
    error = rpc_error(call)
    check_refusal(error, hostile.secrets)
    assert hostile.head() == before
    return error


@pytest.mark.parametrize("name", ["web\n", "alpha\n", "ci\n"])
def test_a_name_with_a_trailing_newline_is_invalid_and_creates_nothing(
    hostile: Hostile, name: str
) -> None:
    app = pb.CreateAppRequest(name=name)
    key = pb.CreateKeyRequest(name=name, role="auditor")

    assert refused(hostile, lambda: hostile.ledger.CreateApp(app)).code() == INVALID
    assert refused(hostile, lambda: hostile.keys.CreateKey(key)).code() == INVALID


def test_ids_env_keys_and_request_ids_with_a_trailing_newline_are_invalid(
    hostile: Hostile,
) -> None:
    release = hostile.seed.releases["alpha"][0]
    ledger = hostile.ledger

    calls: list[Callable[[], object]] = [
        lambda: ledger.GetRelease(pb.GetReleaseRequest(id=release + "\n")),
        lambda: ledger.UpdateEnv(pb.UpdateEnvRequest(app="alpha", set={"KEY\n": "v"})),
        lambda: ledger.UpdateApp(pb.UpdateAppRequest(name="alpha", request_id="r1\n")),
        lambda: ledger.ListEvents(pb.ListEventsRequest(types=["EnvChanged\n"])),
        lambda: hostile.keys.RevokeKey(pb.RevokeKeyRequest(id=hostile.seed.admin_key_id + "\n")),
    ]
    for call in calls:
        assert refused(hostile, call).code() == INVALID


LISTINGS: dict[str, Callable[[str], Message]] = {
    "ListApps": lambda token: pb.ListAppsRequest(page_token=token),
    "ListReleases": lambda token: pb.ListReleasesRequest(app="alpha", page_token=token),
    "ListBuilds": lambda token: pb.ListBuildsRequest(app="beta", page_token=token),
    "ListPromotions": lambda token: pb.ListPromotionsRequest(app="alpha", page_token=token),
    "ListEvents": lambda token: pb.ListEventsRequest(page_token=token),
    "ListKeys": lambda token: pb.ListKeysRequest(page_token=token),
    "ExportEvents": lambda token: pb.ExportEventsRequest(page_token=token),
    "ListWorkflows": lambda token: pb.ListWorkflowsRequest(page_token=token),
    "ListJobs": lambda token: pb.ListJobsRequest(page_token=token),
}


@pytest.mark.parametrize("cursor", [2**63, 2**64, 10**30])
@pytest.mark.parametrize("listing", sorted(LISTINGS))
def test_a_page_token_whose_cursor_is_past_int64_is_invalid(
    hostile: Hostile, listing: str, cursor: int
) -> None:
    token = with_cursor(hostile.seed.page_tokens[listing], cursor)
    request = LISTINGS[listing](token)

    error = refused(hostile, lambda: hostile.method(listing)(request))

    assert error.code() == INVALID
    assert "page_token" in (error.details() or "")


@pytest.mark.parametrize(
    "stamp",
    [Timestamp(seconds=0, nanos=-1), Timestamp(seconds=2**62), Timestamp(seconds=-(2**40))],
)
def test_a_timestamp_no_datetime_can_hold_is_invalid(hostile: Hostile, stamp: Timestamp) -> None:
    ledger = hostile.ledger
    as_of = pb.GetActiveReleaseRequest(app="alpha", as_of_time=stamp)

    assert "as_of_time" in (
        refused(hostile, lambda: ledger.GetActiveRelease(as_of)).details() or ""
    )
    assert "since" in (
        refused(hostile, lambda: ledger.ListEvents(pb.ListEventsRequest(since=stamp))).details()
        or ""
    )


def test_a_refusal_quotes_a_malformed_app_name_and_cuts_it_short(hostile: Hostile) -> None:
    request = pb.GetAppRequest(name="\r\n\x1b[31m" + "x" * 10_000)

    error = refused(
        hostile, lambda: hostile.ledger.GetApp(request, metadata=hostile.metadata(DEPLOYER))
    )

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'\\r\\n\\x1b[31mxxx" in (error.details() or "")


def test_env_keys_both_set_and_unset_are_named_briefly(hostile: Hostile) -> None:
    keys = [f"KEY_{index}_" + "K" * 200 for index in range(10)]
    request = pb.UpdateEnvRequest(app="alpha", set=dict.fromkeys(keys, "v"), unset=keys)

    error = refused(hostile, lambda: hostile.ledger.UpdateEnv(request))

    assert error.code() == INVALID
    assert (error.details() or "").endswith("and 7 more both set and unset")


@pytest.mark.parametrize("name", ["\x1f", "alpha-ci\n", "\x1b[2J" + "x" * 10_000])
def test_a_malformed_workflow_name_is_invalid_for_every_workflow_change(
    hostile: Hostile, name: str
) -> None:
    ledger = hostile.ledger
    calls: list[Callable[[], object]] = [
        lambda: ledger.UpdateWorkflow(pb.UpdateWorkflowRequest(name=name)),
        lambda: ledger.DeleteWorkflow(pb.DeleteWorkflowRequest(name=name)),
        lambda: ledger.RotateWorkflowSecret(pb.RotateWorkflowSecretRequest(name=name)),
        lambda: ledger.ResumeWorkflow(pb.ResumeWorkflowRequest(name=name)),
        lambda: ledger.RunWorkflow(pb.RunWorkflowRequest(name=name, commit="a" * 40)),
    ]
    for call in calls:
        error = refused(hostile, call)
        assert error.code() == INVALID
        assert "invalid workflow name" in (error.details() or "")


@pytest.mark.parametrize("app", ["\x1f", "beta\n", "x" * 10_000])
def test_resuming_a_workflow_on_a_malformed_app_name_is_invalid(hostile: Hostile, app: str) -> None:
    request = pb.ResumeWorkflowRequest(name="alpha-ci", app=app)

    error = refused(hostile, lambda: hostile.ledger.ResumeWorkflow(request))

    assert error.code() == INVALID
    assert "invalid app name" in (error.details() or "")


def test_credentials_in_a_repository_url_are_refused_without_being_shown(
    hostile: Hostile,
) -> None:
    settings = pb.WorkflowSettings(
        repository="https://ci:tok-s3cret-99@git.invalid/acme/shop.git", apps=["alpha"]
    )
    create = pb.CreateWorkflowRequest(name="leaky", settings=settings)
    update = pb.UpdateWorkflowRequest(
        name="alpha-ci", settings=settings, update_fields=["repository"]
    )

    for call in (
        lambda: hostile.ledger.CreateWorkflow(create),
        lambda: hostile.ledger.UpdateWorkflow(update),
    ):
        error = refused(hostile, call)
        assert error.code() == INVALID
        assert "tok-s3cret-99" not in (error.details() or "")


def test_a_job_of_a_workflow_names_no_secret_of_it(hostile: Hostile) -> None:
    for job_id in hostile.seed.jobs:
        job = hostile.ledger.GetJob(pb.GetJobRequest(id=job_id)).SerializeToString()
        for secret in hostile.seed.secrets:
            assert secret.encode() not in job
