"""Lists: paging through ledgerd's pages, --limit, filters and the app option."""

from __future__ import annotations

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.cli.runner import SQLITE_ONLY, Ledgerctl

pytestmark = SQLITE_ONLY


def test_releases_stop_at_the_limit_newest_first(web: Ledgerctl) -> None:
    for n in range(5):
        web.build(f"web:{n}")

    releases = web.ok("--json", "releases", "--limit", "3").json

    assert [release["version"] for release in releases] == [5, 4, 3]


def test_history_fetches_page_after_page_until_the_log_ends(
    web: Ledgerctl, ledgerd_client: LedgerStub
) -> None:
    for n in range(21):  # each build appends several events: well over one page of 100
        web.build(f"web:{n}")
    expected = ledgerd_client.ListEvents(pb.ListEventsRequest(app="web", page_size=500))
    assert not expected.next_page_token

    events = web.history()

    assert len(events) > 100
    assert [event["position"] for event in events] == [e.position for e in expected.events]


def test_history_shows_only_the_types_asked_for_within_since_and_until(web: Ledgerctl) -> None:
    web.ok("apps", "create", "api")
    web.build("web:1")

    recent = web.history("--type", "AppCreated", "--type", "BuildCreated", "--since", "2h")
    long_ago = web.history("--until", "2h")

    assert [(event["type"], event["app"]) for event in recent] == [
        ("AppCreated", "web"),
        ("BuildCreated", "web"),
    ]
    assert long_ago == []


def test_the_app_may_be_given_after_the_verb(web: Ledgerctl) -> None:
    web.ok("apps", "create", "other")
    web.ok("env", "set", "-a", "other", "WHERE=other")

    assert web.ok("env", "-a", "other", "--reveal").stdout == "WHERE=other\n"
    assert web.ok("env", "--reveal").stdout == "\n"


def test_apps_info_at_a_position_shows_the_release_active_then(web: Ledgerctl) -> None:
    first = web.deploy("web:1")
    position = web.history()[-1]["position"]
    second = web.deploy("web:2")

    data = web.ok("--json", "apps", "info", "web", "--at", str(position)).json

    assert data["active_release"]["id"] == data["active_release_id"] == first != second
    assert data["as_of_position"] == position


def test_apps_info_at_a_time_shows_the_release_active_then(web: Ledgerctl) -> None:
    first = web.deploy("web:1")
    moment = web.history()[-1]["time"]
    web.deploy("web:2")

    data = web.ok("--json", "apps", "info", "web", "--at", moment).json

    assert data["active_release"]["id"] == first
    assert data["as_of_time"] == moment
