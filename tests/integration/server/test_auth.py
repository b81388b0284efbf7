"""Authentication and authorisation through real gRPC, on SQLite and PostgreSQL.

Every RPC needs a deploy key's token; a refused call (no token, a wrong or revoked one,
a key whose role or apps do not allow it) appends nothing to the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from server.grpc.interceptor import RECHECK_SECONDS
from tests.integration.server.helpers import build, create_app, promote, rpc_error
from tests.support.auth import bearer, channel_to, create_key
from tests.support.ledgerd import InProcessLedgerd

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED


@pytest.fixture
def as_key(ledgerd: InProcessLedgerd) -> Iterator[Callable[[str], LedgerStub]]:
    """``as_key(token)``: a Ledger client signed in with ``token``."""
    with ExitStack() as channels:

        def client(token: str) -> LedgerStub:
            return LedgerStub(channels.enter_context(channel_to(ledgerd.address, token)))

        yield client


def head(ledgerd: InProcessLedgerd) -> int:
    return ledgerd.container.ledger.head()


def test_a_call_without_a_token_is_unauthenticated_and_appends_nothing(
    ledgerd: InProcessLedgerd,
) -> None:
    before = head(ledgerd)
    upload = [
        pb.CreateBuildRequest(metadata=pb.BuildMetadata(app="web")),
        pb.CreateBuildRequest(chunk=b"x"),
    ]

    with grpc.insecure_channel(ledgerd.address) as anonymous:
        client = LedgerStub(anonymous)
        errors = [
            rpc_error(lambda: client.CreateApp(pb.CreateAppRequest(name="web"))),
            rpc_error(lambda: client.CreateBuild(iter(upload))),
            rpc_error(lambda: next(client.WatchEvents(pb.WatchEventsRequest()))),
        ]

    assert [error.code() for error in errors] == [UNAUTHENTICATED] * 3
    assert "not signed in" in errors[0].details()
    assert head(ledgerd) == before


def test_a_wrong_token_is_unauthenticated_and_not_echoed(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    wrong = "dl_" + "x" * 43
    before = head(ledgerd)

    error = rpc_error(
        lambda: ledgerd_client.CreateApp(pb.CreateAppRequest(name="web"), metadata=bearer(wrong))
    )

    assert error.code() == UNAUTHENTICATED
    assert wrong not in error.details()
    assert head(ledgerd) == before


def test_a_revoked_key_is_unauthenticated_at_once(ledgerd_channel: grpc.Channel) -> None:
    key, token = create_key(ledgerd_channel, "ci", "deployer", "web")
    keys = KeysStub(ledgerd_channel)
    assert keys.WhoAmI(pb.WhoAmIRequest(), metadata=bearer(token)).id == key.id

    keys.RevokeKey(pb.RevokeKeyRequest(id=key.id))

    error = rpc_error(lambda: keys.WhoAmI(pb.WhoAmIRequest(), metadata=bearer(token)))
    assert error.code() == UNAUTHENTICATED


def test_a_watch_whose_key_is_revoked_ends_unauthenticated_before_the_next_event(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel, as_key: Callable[[str], LedgerStub]
) -> None:
    create_app(ledgerd_client, "web")
    key, token = create_key(ledgerd_channel, "dash", "reader", "web")
    stream = as_key(token).WatchEvents(pb.WatchEventsRequest(app="web"), timeout=30)
    assert next(stream).events  # the backlog

    KeysStub(ledgerd_channel).RevokeKey(pb.RevokeKeyRequest(id=key.id))
    time.sleep(RECHECK_SECONDS)
    ledgerd_client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"A": "1"}))

    received: list[pb.WatchEventsResponse] = []
    error = rpc_error(lambda: received.extend(stream))
    assert error.code() == UNAUTHENTICATED
    assert not [event for response in received for event in response.events]


def test_a_deployer_of_shop_promotes_shop_but_is_refused_elsewhere_and_nothing_is_appended(
    ledgerd: InProcessLedgerd,
    ledgerd_client: LedgerStub,
    ledgerd_channel: grpc.Channel,
    as_key: Callable[[str], LedgerStub],
) -> None:
    create_app(ledgerd_client, "shop")
    create_app(ledgerd_client, "other")
    shop_release = build(ledgerd_client, "shop", "shop:1").release_id
    other_release = build(ledgerd_client, "other", "other:1").release_id
    _, token = create_key(ledgerd_channel, "ci", "deployer", "shop")
    ci = as_key(token)

    assert promote(ci, "shop", shop_release).status == "succeeded"

    before = head(ledgerd)
    metadata = pb.BuildMetadata(app="other", image="other:2")
    refused = [
        lambda: ci.PromoteRelease(pb.PromoteReleaseRequest(app="other", release_id=other_release)),
        lambda: ci.UpdateEnv(pb.UpdateEnvRequest(app="other", set={"A": "1"})),
        lambda: ci.CreateBuild(iter([pb.CreateBuildRequest(metadata=metadata)])),
        lambda: ci.CreateApp(pb.CreateAppRequest(name="new")),
        lambda: KeysStub(ledgerd_channel).CreateKey(
            pb.CreateKeyRequest(name="more", role="admin"), metadata=bearer(token)
        ),
    ]
    for call in refused:
        assert rpc_error(call).code() == PERMISSION_DENIED
    assert head(ledgerd) == before


def test_a_refusal_says_which_key_and_what_it_may_not_do(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel, as_key: Callable[[str], LedgerStub]
) -> None:
    _, token = create_key(ledgerd_channel, "ci", "deployer", "shop")

    error = rpc_error(lambda: as_key(token).CreateApp(pb.CreateAppRequest(name="new")))

    assert error.details() == "permission denied: key ci (deployer for shop) may not create apps"


def test_a_reader_of_shop_cannot_read_a_build_or_release_of_other_by_its_id(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel, as_key: Callable[[str], LedgerStub]
) -> None:
    create_app(ledgerd_client, "shop")
    create_app(ledgerd_client, "other")
    mine = build(ledgerd_client, "shop", "shop:1")
    theirs = build(ledgerd_client, "other", "other:1")
    _, token = create_key(ledgerd_channel, "dash", "reader", "shop")
    reader = as_key(token)

    assert reader.GetBuild(pb.GetBuildRequest(id=mine.id)).app == "shop"
    refused = [
        lambda: reader.GetBuild(pb.GetBuildRequest(id=theirs.id)),
        lambda: reader.GetBuild(pb.GetBuildRequest(app="other", id=theirs.id)),
        lambda: reader.GetRelease(pb.GetReleaseRequest(id=theirs.release_id)),
        lambda: list(reader.StreamBuildLogs(pb.StreamBuildLogsRequest(id=theirs.id))),
        lambda: reader.DiffReleases(
            pb.DiffReleasesRequest(from_release_id=mine.release_id, to_release_id=theirs.release_id)
        ),
    ]
    for call in refused:
        assert rpc_error(call).code() == PERMISSION_DENIED


def test_env_values_are_masked_unless_revealed_and_only_keys_that_may_reveal_them(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel, as_key: Callable[[str], LedgerStub]
) -> None:
    create_app(ledgerd_client, "shop")
    release_id = build(ledgerd_client, "shop", "shop:1").release_id
    promote(ledgerd_client, "shop", release_id)
    changed = ledgerd_client.UpdateEnv(pb.UpdateEnvRequest(app="shop", set={"SECRET": "s3cret"}))
    _, audit = create_key(ledgerd_channel, "audit", "auditor")
    _, ci = create_key(ledgerd_channel, "ci", "deployer", "shop")
    auditor, deployer = as_key(audit), as_key(ci)

    env = auditor.GetEnv(pb.GetEnvRequest(app="shop"))
    release = auditor.GetRelease(pb.GetReleaseRequest(id=changed.release.id))

    assert (env.masked, dict(env.values)) == (True, {"SECRET": "***"})
    assert (release.env_masked, dict(release.env)) == (True, {"SECRET": "***"})
    assert list(release.env_keys) == ["SECRET"]
    for refused in (
        lambda: auditor.GetEnv(pb.GetEnvRequest(app="shop", reveal=True)),
        lambda: auditor.GetRelease(pb.GetReleaseRequest(id=changed.release.id, reveal=True)),
    ):
        assert rpc_error(refused).code() == grpc.StatusCode.PERMISSION_DENIED
    unasked = deployer.GetEnv(pb.GetEnvRequest(app="shop"))
    assert (unasked.masked, dict(unasked.values)) == (True, {"SECRET": "***"})
    shown = deployer.GetEnv(pb.GetEnvRequest(app="shop", reveal=True))
    assert (shown.masked, dict(shown.values)) == (False, {"SECRET": "s3cret"})


def test_events_record_the_name_and_id_of_the_key_that_made_them_not_a_claimed_actor(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel, as_key: Callable[[str], LedgerStub]
) -> None:
    create_app(ledgerd_client, "shop")
    key, token = create_key(ledgerd_channel, "ci", "deployer", "shop")

    as_key(token).UpdateEnv(
        pb.UpdateEnvRequest(app="shop", set={"A": "1"}),
        metadata=(("x-ledger-actor", "someone-else"),),
    )

    request = pb.ListEventsRequest(app="shop", types=["EnvChanged"])
    events = ledgerd_client.ListEvents(request).events
    assert [event.actor for event in events] == [f"ci ({key.id})"]


def test_an_app_limited_key_lists_its_apps_and_reads_the_log_of_one_of_them_only(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel, as_key: Callable[[str], LedgerStub]
) -> None:
    for name in ("api", "shop", "web"):
        create_app(ledgerd_client, name)
    _, token = create_key(ledgerd_channel, "dash", "reader", "shop", "web", "gone")
    reader = as_key(token)

    listed = reader.ListApps(pb.ListAppsRequest(page_size=1))
    rest = reader.ListApps(pb.ListAppsRequest(page_size=1, page_token=listed.next_page_token))
    assert [app.name for app in [*listed.apps, *rest.apps]] == ["shop", "web"]
    assert not rest.next_page_token
    assert reader.ListEvents(pb.ListEventsRequest(app="shop")).events
    whole_log = rpc_error(lambda: reader.ListEvents(pb.ListEventsRequest()))
    assert whole_log.code() == PERMISSION_DENIED
    assert "name one of its apps" in whole_log.details()
    watch = rpc_error(lambda: next(reader.WatchEvents(pb.WatchEventsRequest(), timeout=10)))
    assert watch.code() == PERMISSION_DENIED


def test_health_checking_and_reflection_need_no_token(ledgerd: InProcessLedgerd) -> None:
    with grpc.insecure_channel(ledgerd.address) as anonymous:
        health = health_pb2_grpc.HealthStub(anonymous)
        response = health.Check(health_pb2.HealthCheckRequest(service="ledger.v1.Keys"))
        services = ProtoReflectionDescriptorDatabase(anonymous).get_services()

    assert response.status == health_pb2.HealthCheckResponse.SERVING
    assert {"ledger.v1.Ledger", "ledger.v1.Keys"} <= set(services)
