"""Releases, promotions, rollbacks, pagination and time travel through real gRPC."""

from __future__ import annotations

import grpc

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import (
    build,
    create_app,
    deploy,
    promote,
    rpc_error,
    wait_promotion,
)


def test_promoting_a_release_makes_it_the_active_release(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client, "web")
    release_id = build(ledgerd_client, "web", "web:1").release_id

    promotion = promote(ledgerd_client, "web", release_id)

    assert promotion.release_id == release_id
    app = ledgerd_client.GetApp(pb.GetAppRequest(name="web"))
    assert app.active_release_id == release_id
    active = ledgerd_client.GetActiveRelease(pb.GetActiveReleaseRequest(app="web"))
    assert active.release.id == release_id
    assert active.release.active


def test_promoting_a_release_of_another_app_is_not_found(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client, "web")
    create_app(ledgerd_client, "api")
    api_release = build(ledgerd_client, "api", "api:1").release_id

    error = rpc_error(
        lambda: ledgerd_client.PromoteRelease(
            pb.PromoteReleaseRequest(app="web", release_id=api_release)
        )
    )

    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_rollback_creates_a_new_release_keeps_newer_ones_and_roll_forward_works(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    first = deploy(ledgerd_client, "web", "web:1")
    second = deploy(ledgerd_client, "web", "web:2")

    response = ledgerd_client.RollbackRelease(
        pb.RollbackReleaseRequest(app="web", release_id=first.id)
    )

    assert (response.release.reason, response.release.parent_id) == ("rollback", first.id)
    assert response.release.build_id == first.build_id
    assert response.release.version == 3
    assert response.promotion.release_id == response.release.id
    assert wait_promotion(ledgerd_client, "web", response.promotion.id).status == "succeeded"
    listed = ledgerd_client.ListReleases(pb.ListReleasesRequest(app="web")).releases
    assert [release.id for release in listed] == [response.release.id, second.id, first.id]
    promote(ledgerd_client, "web", second.id)  # roll forward
    assert ledgerd_client.GetApp(pb.GetAppRequest(name="web")).active_release_id == second.id


def test_releases_are_paginated_by_opaque_tokens_and_a_bad_token_is_invalid_argument(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    created = [build(ledgerd_client, "web", f"web:{n}").release_id for n in range(5)]
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = ledgerd_client.ListReleases(
            pb.ListReleasesRequest(app="web", page_size=2, page_token=token)
        )
        seen.extend(release.id for release in page.releases)
        pages += 1
        token = page.next_page_token
        if not token:
            break

    assert (seen, pages) == (created[::-1], 3)
    for bad in ("not-a-token", "eyJjIjozfQ"):
        error = rpc_error(
            lambda bad=bad: ledgerd_client.ListReleases(
                pb.ListReleasesRequest(app="web", page_size=2, page_token=bad)
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    negative = rpc_error(
        lambda: ledgerd_client.ListReleases(pb.ListReleasesRequest(app="web", page_size=-1))
    )
    assert negative.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_page_token_of_another_listing_is_invalid_argument(ledgerd_client: LedgerStub) -> None:
    for name in ("web", "api"):
        create_app(ledgerd_client, name)
        for n in range(3):
            build(ledgerd_client, name, f"{name}:{n}")
    token = ledgerd_client.ListReleases(
        pb.ListReleasesRequest(app="web", page_size=1)
    ).next_page_token

    error = rpc_error(
        lambda: ledgerd_client.ListReleases(
            pb.ListReleasesRequest(app="api", page_size=1, page_token=token)
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_active_release_as_of_an_earlier_position_is_the_one_active_then(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    first = deploy(ledgerd_client, "web", "web:1")
    then = ledgerd_client.GetActiveRelease(pb.GetActiveReleaseRequest(app="web")).position
    second = deploy(ledgerd_client, "web", "web:2")

    past = ledgerd_client.GetActiveRelease(
        pb.GetActiveReleaseRequest(app="web", as_of_position=then)
    )
    now = ledgerd_client.GetActiveRelease(pb.GetActiveReleaseRequest(app="web"))

    assert past.release.id == first.id
    assert past.position <= then
    assert now.release.id == second.id
    before_any = ledgerd_client.GetActiveRelease(
        pb.GetActiveReleaseRequest(app="web", as_of_position=1)
    )
    assert not before_any.HasField("release")


def test_diffing_two_releases_names_changed_env_keys_but_no_values(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client, "web")
    ledgerd_client.UpdateEnv(pb.UpdateEnvRequest(app="web", set={"A": "1", "B": "1"}))
    first = deploy(ledgerd_client, "web", "web:1")
    update = pb.UpdateEnvRequest(app="web", set={"B": "2", "C": "3"}, unset=["A"])
    second = ledgerd_client.UpdateEnv(update).release

    diff = ledgerd_client.DiffReleases(
        pb.DiffReleasesRequest(app="web", from_release_id=first.id, to_release_id=second.id)
    )

    assert (list(diff.added), list(diff.changed), list(diff.removed)) == (["C"], ["B"], ["A"])
    assert not diff.build_changed
    assert not diff.from_release.env and not diff.to_release.env
