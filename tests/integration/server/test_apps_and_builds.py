"""Apps and builds through real gRPC."""

from __future__ import annotations

import grpc

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import actor_of, all_events, build, create_app, rpc_error


def test_creating_an_app_returns_it_and_get_app_sees_it_at_once(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel
) -> None:
    created = create_app(ledgerd_client, "web")

    fetched = ledgerd_client.GetApp(pb.GetAppRequest(name="web"))
    assert created.name == fetched.name == "web"
    assert fetched.actor == actor_of(ledgerd_channel)
    assert fetched.active_release_id == ""
    names = [app.name for app in ledgerd_client.ListApps(pb.ListAppsRequest()).apps]
    assert names == ["web"]


def test_creating_an_app_twice_is_already_exists(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client, "web")

    error = rpc_error(lambda: create_app(ledgerd_client, "web"))

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "web" in error.details()


def test_a_bad_app_name_is_invalid_argument_and_appends_nothing(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    before = all_events(ledgerd_client)

    error = rpc_error(lambda: create_app(ledgerd_client, "Not A Name"))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert all_events(ledgerd_client) == before


def test_an_unknown_app_is_not_found(ledgerd_client: LedgerStub) -> None:
    error = rpc_error(lambda: ledgerd_client.GetApp(pb.GetAppRequest(name="nope")))

    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_a_build_from_an_image_creates_an_unpromoted_release(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client, "web")

    built = build(ledgerd_client, "web", "registry.example/web:1")

    assert built.status == "succeeded"
    assert built.source == "image:registry.example/web:1"
    release = ledgerd_client.GetRelease(pb.GetReleaseRequest(app="web", id=built.release_id))
    assert (release.version, release.build_id, release.reason) == (1, built.id, "build")
    assert not release.active
    app = ledgerd_client.GetApp(pb.GetAppRequest(name="web"))
    assert app.active_release_id == ""
    assert app.latest_release_id == built.release_id


def test_a_build_stream_that_does_not_start_with_metadata_is_invalid_argument(
    ledgerd_client: LedgerStub,
) -> None:
    messages = [pb.CreateBuildRequest(chunk=b"tarball bytes")]

    error = rpc_error(lambda: ledgerd_client.CreateBuild(iter(messages)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_logs_of_an_image_build_are_its_status_line(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client, "web")
    built = build(ledgerd_client, "web", "nginx:1.27")

    chunks = ledgerd_client.StreamBuildLogs(pb.StreamBuildLogsRequest(app="web", id=built.id))

    text = b"".join(chunk.data for chunk in chunks).decode()
    assert text == f"build {built.id} of image nginx:1.27 succeeded\n"
