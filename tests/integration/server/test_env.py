"""Environment changes through real gRPC: releases from the ACTIVE build, concurrency."""

from __future__ import annotations

import grpc

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import (
    all_events,
    build,
    create_app,
    deploy,
    rpc_error,
    wait_promotion,
)


def test_setting_env_without_promote_creates_a_release_from_the_active_releases_build(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    active = deploy(ledgerd_client, "web", "web:1")
    newest_build = build(ledgerd_client, "web", "web:2")

    response = ledgerd_client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"DEBUG": "1"}))

    assert response.env_version == 1
    assert list(response.added) == ["DEBUG"]
    assert response.release.build_id == active.build_id != newest_build.id
    assert response.release.parent_id == active.id
    assert response.release.reason == "env"
    assert not response.HasField("promotion")
    release = ledgerd_client.GetRelease(
        pb.GetReleaseRequest(app="web", id=response.release.id, reveal=True)
    )
    assert dict(release.env) == {"DEBUG": "1"}
    assert list(release.env_keys) == ["DEBUG"]
    app = ledgerd_client.GetApp(pb.GetAppRequest(name="web"))
    assert app.active_release_id == active.id
    env = ledgerd_client.GetEnv(pb.GetEnvRequest(app="web", reveal=True))
    assert (env.version, dict(env.values)) == (1, {"DEBUG": "1"})


def test_setting_env_with_promote_makes_the_new_release_active(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    deploy(ledgerd_client, "web", "web:1")

    response = ledgerd_client.UpdateEnv(
        pb.UpdateEnvRequest(app="web", set={"A": "1"}, promote=True)
    )

    assert response.promotion.release_id == response.release.id
    assert wait_promotion(ledgerd_client, "web", response.promotion.id).status == "succeeded"
    app = ledgerd_client.GetApp(pb.GetAppRequest(name="web"))
    assert app.active_release_id == response.release.id


def test_a_stale_expected_version_is_aborted_and_appends_nothing(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    ledgerd_client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"A": "1"}, expected_version=0))
    before = all_events(ledgerd_client)

    error = rpc_error(
        lambda: ledgerd_client.UpdateEnv(
            pb.UpdateEnvRequest(app="web", set={"A": "2"}, expected_version=0)
        )
    )

    assert error.code() == grpc.StatusCode.ABORTED
    assert all_events(ledgerd_client) == before
    assert dict(ledgerd_client.GetEnv(pb.GetEnvRequest(app="web", reveal=True)).values) == {
        "A": "1"
    }
