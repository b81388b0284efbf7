"""GetApp and ListReleases answered from memory agree with the views, through real gRPC.

On SQLite and PostgreSQL: a read right after a command shows it (read-your-writes through
the hot views), pages of releases and their tokens work across what memory keeps and what
only the views have, and an app evicted from memory is read correctly again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from server.grpc import convert
from server.infra.settings import Settings
from tests.integration.server.helpers import build, create_app, deploy, rpc_error, wait_promotion
from tests.support.ledgerd import InProcessLedgerd


def get_app(client: LedgerStub, name: str = "web") -> pb.App:
    return client.GetApp(pb.GetAppRequest(name=name))


def update_env(client: LedgerStub, value: str, name: str = "web") -> pb.UpdateEnvResponse:
    return client.UpdateEnv(pb.UpdateEnvRequest(app=name, set={"N": value}))


def all_pages(client: LedgerStub, app: str, page_size: int) -> list[list[pb.Release]]:
    pages: list[list[pb.Release]] = []
    token = ""
    while True:
        request = pb.ListReleasesRequest(app=app, page_size=page_size, page_token=token)
        page = client.ListReleases(request)
        pages.append(list(page.releases))
        token = page.next_page_token
        if not token:
            return pages


def test_get_app_right_after_update_env_shows_the_new_env_version(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client)
    assert get_app(ledgerd_client).env_version == 0
    assert "web" in ledgerd.container.hot  # the next GetApp is answered from memory

    for n in range(1, 6):
        changed = update_env(ledgerd_client, str(n))
        assert get_app(ledgerd_client).env_version == changed.env_version == n


def test_get_app_right_after_promote_release_shows_the_promotion_then_its_outcome(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client)
    release_id = build(ledgerd_client, "web", "web:1").release_id
    assert get_app(ledgerd_client).release_count == 1
    assert "web" in ledgerd.container.hot

    promotion = ledgerd_client.PromoteRelease(
        pb.PromoteReleaseRequest(app="web", release_id=release_id)
    )
    app = get_app(ledgerd_client)

    in_flight = app.HasField("promotion")
    assert (app.promotion.id, app.desired_release_id) == (promotion.id, release_id) or (
        not in_flight and app.active_release_id == release_id
    )
    assert wait_promotion(ledgerd_client, "web", promotion.id).status == "succeeded"
    app = get_app(ledgerd_client)
    assert app.active_release_id == release_id and not app.HasField("promotion")


def test_update_app_answers_with_the_app_as_changed(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client)
    get_app(ledgerd_client)

    updated = ledgerd_client.UpdateApp(pb.UpdateAppRequest(name="web", deadline_seconds=42))

    assert updated.deadline_seconds == 42 == get_app(ledgerd_client).deadline_seconds


def test_get_app_answers_as_the_views_do(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client)
    deploy(ledgerd_client, "web", "web:1")
    update_env(ledgerd_client, "1")
    get_app(ledgerd_client)

    answered = get_app(ledgerd_client)

    summary = ledgerd.container.queries.app_summary("web")
    assert answered == convert.app_summary(summary)


def test_release_pages_of_every_size_agree_with_the_views_across_memory_and_sql(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub
) -> None:
    create_app(ledgerd_client)
    deploy(ledgerd_client, "web", "web:1")
    for n in range(60):  # 61 releases: more than memory keeps
        update_env(ledgerd_client, str(n))
    views = ledgerd.container.views.list_releases("web", 0, 1000)
    expected = [convert.release(view) for view in views]
    assert len(expected) == 61

    for size in (50, 7, 20, 51, 100):
        pages = all_pages(ledgerd_client, "web", size)
        assert [release for page in pages for release in page] == expected
        assert all(len(page) == size for page in pages[:-1])
    assert "web" in ledgerd.container.hot


def test_a_token_of_a_page_from_memory_leads_on_after_a_new_release(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client)
    deploy(ledgerd_client, "web", "web:1")
    for n in range(4):
        update_env(ledgerd_client, str(n))
    first = ledgerd_client.ListReleases(pb.ListReleasesRequest(app="web", page_size=2))

    update_env(ledgerd_client, "new")
    following = ledgerd_client.ListReleases(
        pb.ListReleasesRequest(app="web", page_size=2, page_token=first.next_page_token)
    )
    fresh = ledgerd_client.ListReleases(pb.ListReleasesRequest(app="web", page_size=2))

    assert [r.version for r in first.releases] == [5, 4]
    assert [r.version for r in following.releases] == [3, 2]
    assert [r.version for r in fresh.releases] == [6, 5]


def test_list_releases_of_an_unknown_app_is_not_found_and_a_bad_token_invalid(
    ledgerd_client: LedgerStub,
) -> None:
    create_app(ledgerd_client)
    ledgerd_client.ListReleases(pb.ListReleasesRequest(app="web"))

    unknown = rpc_error(lambda: ledgerd_client.ListReleases(pb.ListReleasesRequest(app="nope")))
    bad = rpc_error(
        lambda: ledgerd_client.ListReleases(pb.ListReleasesRequest(app="web", page_token="x"))
    )
    malformed = rpc_error(lambda: ledgerd_client.GetApp(pb.GetAppRequest(name="Not An App")))

    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert malformed.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def small_memory(ledgerd_settings: Settings) -> Iterator[InProcessLedgerd]:
    """A ledgerd whose memory keeps the hot reads of two apps only."""
    with InProcessLedgerd(replace(ledgerd_settings, hot_apps=2)) as server:
        yield server


def test_apps_evicted_from_memory_are_read_correctly_again(small_memory: InProcessLedgerd) -> None:
    with small_memory.channel() as channel:
        client = LedgerStub(channel)
        names = ["a", "b", "c", "d"]
        for name in names:
            create_app(client, name)
            get_app(client, name)
        hot = small_memory.container.hot
        assert len(hot) == 2 and "a" not in hot

        for name in names:  # written while out of memory, or in it
            update_env(client, name, name)

        for name in names:
            app = get_app(client, name)
            assert (app.name, app.env_version) == (name, 1)
            releases = client.ListReleases(pb.ListReleasesRequest(app=name)).releases
            assert releases == []  # no release without a build
        assert len(hot) == 2
