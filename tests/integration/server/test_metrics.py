"""``/metrics`` of a real ledgerd over real gRPC and HTTP, after a scripted story.

The story: two apps; deploys that succeed, one whose image fails and is rolled back, a
rollback asked for, a source build that fails (the runtime builds nothing). The delivery
totals come from the ledger's views, so they survive a restart and two ledgerd of one
PostgreSQL database answer the same.
"""

from __future__ import annotations

import base64
import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from ledger.commands import CreateApp
from ledger.domain import Meta
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from server.infra.settings import Settings
from tests.integration.server.helpers import build, create_app, deploy, rpc_error, wait_promotion
from tests.support.builds import upload
from tests.support.ledgerd import InProcessLedgerd
from tests.support.metrics import Scrape, scrape
from tests.support.runtimes import FailingRuntime

BAD_IMAGE = "shop:bad"
DOMAIN = (
    "ledger_promotions_total",
    "ledger_promotion_duration_seconds",
    "ledger_builds_total",
    "ledger_build_duration_seconds",
    "ledger_rollbacks_total",
    "ledger_app_active_release_info",
)
SETTLE_SECONDS = 30.0


@dataclass(frozen=True)
class Story:
    rollback_release: pb.Release


def runtime() -> FailingRuntime:
    return FailingRuntime({BAD_IMAGE})


def tell_story(client: LedgerStub, sources: Path) -> Story:
    """Deploys of two apps, a failed one rolled back, a rollback, a failed build."""
    create_app(client, "shop")
    create_app(client, "blog")
    first = deploy(client, "shop", "shop:1")
    deploy(client, "shop", "shop:2")
    bad = build(client, "shop", BAD_IMAGE)
    failed = client.PromoteRelease(pb.PromoteReleaseRequest(app="shop", release_id=bad.release_id))
    assert wait_promotion(client, "shop", failed.id).status == "rolled_back"
    rolled = client.RollbackRelease(pb.RollbackReleaseRequest(app="shop", release_id=first.id))
    assert wait_promotion(client, "shop", rolled.promotion.id).status == "succeeded"
    deploy(client, "blog", "blog:1")
    (sources / "Dockerfile").write_text("FROM scratch\n")
    failing = client.CreateBuild(upload("blog", sources))
    build_ended(client, "blog", failing.id)
    active = client.GetApp(pb.GetAppRequest(name="shop")).active_release_id
    return Story(rollback_release=client.GetRelease(pb.GetReleaseRequest(app="shop", id=active)))


def build_ended(client: LedgerStub, app: str, build_id: str) -> pb.Build:
    deadline = time.monotonic() + SETTLE_SECONDS
    while (found := client.GetBuild(pb.GetBuildRequest(app=app, id=build_id))).status not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline, f"build still {found.status}"
        time.sleep(0.02)
    return found


def metrics_url(server: InProcessLedgerd) -> str:
    return server.console_url + "metrics"


def domain(answer: Scrape) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The samples read from the ledger (not counted by this process)."""
    return {key: value for key, value in answer.samples().items() if key[0].startswith(DOMAIN)}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="127.0.0.1:0"
    )


@pytest.fixture
def told(settings: Settings, tmp_path: Path) -> Iterator[tuple[InProcessLedgerd, Story]]:
    """A ledgerd (SQLite) after the story."""
    with InProcessLedgerd(settings, runtime()) as server, server.channel() as channel:
        story = tell_story(LedgerStub(channel), tmp_path)
        yield server, story


def test_the_promotions_of_the_story_are_counted_by_app_and_outcome(
    told: tuple[InProcessLedgerd, Story],
) -> None:
    server, _ = told
    answer = scrape(metrics_url(server), server.token)

    assert answer.status == 200
    assert answer.content_type.startswith("text/plain; version=0.0.4")
    promotions = {
        (dict(labels)["app"], dict(labels)["outcome"]): value
        for (name, labels), value in answer.samples().items()
        if name == "ledger_promotions_total"
    }
    assert promotions == {
        ("shop", "succeeded"): 3.0,
        ("shop", "rolled_back"): 1.0,
        ("shop", "rollback_failed"): 0.0,
        ("shop", "cancelled"): 0.0,
        ("blog", "succeeded"): 1.0,
        ("blog", "rolled_back"): 0.0,
        ("blog", "rollback_failed"): 0.0,
        ("blog", "cancelled"): 0.0,
    }
    assert answer.value("ledger_promotion_duration_seconds_count", app="shop") == 4.0
    assert answer.value("ledger_promotion_duration_seconds_bucket", app="shop", le="+Inf") == 4.0
    assert answer.value("ledger_promotions_in_flight", app="shop") == 0.0


def test_rollbacks_and_builds_of_the_story_are_counted(
    told: tuple[InProcessLedgerd, Story],
) -> None:
    server, _ = told
    answer = scrape(metrics_url(server), server.token)

    assert answer.value("ledger_rollbacks_total", app="shop") == 1.0
    assert answer.value("ledger_rollbacks_total", app="blog") == 0.0
    assert answer.value("ledger_builds_total", app="shop", outcome="succeeded") == 3.0
    assert answer.value("ledger_builds_total", app="shop", outcome="failed") == 0.0
    assert answer.value("ledger_builds_total", app="blog", outcome="succeeded") == 1.0
    assert answer.value("ledger_builds_total", app="blog", outcome="failed") == 1.0
    assert answer.value("ledger_build_duration_seconds_count", app="blog") == 2.0


def test_the_active_release_of_each_app_is_an_info_metric(
    told: tuple[InProcessLedgerd, Story],
) -> None:
    server, story = told
    answer = scrape(metrics_url(server), server.token)

    release = story.rollback_release
    labels = {"app": "shop", "release": release.id, "version": str(release.version)}
    assert answer.value("ledger_app_active_release_info", **labels) == 1.0
    assert len(answer.named("ledger_app_active_release_info")) == 2


def test_grpc_calls_are_counted_by_method_and_code_refused_ones_included(
    told: tuple[InProcessLedgerd, Story],
) -> None:
    server, _ = told
    with grpc.insecure_channel(server.address) as anonymous:
        error = rpc_error(lambda: LedgerStub(anonymous).ListApps(pb.ListAppsRequest()))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    with server.channel() as channel:
        missing = rpc_error(lambda: LedgerStub(channel).GetApp(pb.GetAppRequest(name="nope")))
    assert missing.code() == grpc.StatusCode.NOT_FOUND

    answer = scrape(metrics_url(server), server.token)

    assert answer.value("ledger_grpc_requests_total", method="CreateApp", code="OK") == 2.0
    assert (
        answer.value("ledger_grpc_requests_total", method="ListApps", code="UNAUTHENTICATED") == 1.0
    )
    assert answer.value("ledger_grpc_requests_total", method="GetApp", code="NOT_FOUND") == 1.0
    assert answer.value("ledger_grpc_request_duration_seconds_count", method="CreateApp") == 2.0
    assert answer.value("ledger_grpc_requests_created", method="CreateApp", code="OK") is None


def test_the_log_and_the_projections_are_reported_caught_up(
    told: tuple[InProcessLedgerd, Story],
) -> None:
    server, _ = told
    head = server.container.ledger.head()
    answer = scrape(metrics_url(server), server.token)

    assert answer.value("ledger_log_head_position") == head
    assert answer.value("ledger_projection_position") == head
    assert answer.value("ledger_projection_lag_events") == 0.0
    assert answer.value("ledger_integrity_ok") == 1.0
    assert answer.value("process_resident_memory_bytes", **{}) is not None


def test_an_open_watch_stream_is_counted_until_it_ends(
    told: tuple[InProcessLedgerd, Story],
) -> None:
    server, _ = told
    with server.channel() as channel:
        stream = LedgerStub(channel).WatchEvents(pb.WatchEventsRequest(from_position=0))
        next(stream)  # the backlog's first response: the stream is open
        watching = scrape(metrics_url(server), server.token)
        stream.cancel()

    assert watching.value("ledger_watchers", stream="watch") == 1.0
    assert watching.value("ledger_watchers", stream="console") == 0.0
    # Counted by the outermost interceptor, after the stream's own clean-up.
    cancelled = {"method": "WatchEvents", "code": "CANCELLED"}
    ended = settled(server, "ledger_grpc_requests_total", cancelled, 1.0)
    assert ended.value("ledger_watchers", stream="watch") == 0.0


def settled(server: InProcessLedgerd, name: str, labels: dict[str, str], expected: float) -> Scrape:
    """The first scrape where ``name`` reaches ``expected`` (a cancel ends the stream on
    the server a moment later); the test fails if that takes longer than the bound."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        answer = scrape(metrics_url(server), server.token)
        if answer.value(name, **labels) == expected:
            return answer
        assert time.monotonic() < deadline, f"{name} {labels} is {answer.value(name, **labels)}"
        time.sleep(0.05)


def test_a_restart_keeps_the_delivery_totals(settings: Settings, tmp_path: Path) -> None:
    with InProcessLedgerd(settings, runtime()) as server, server.channel() as channel:
        tell_story(LedgerStub(channel), tmp_path)
        before = scrape(metrics_url(server), server.token)

    with InProcessLedgerd(settings, runtime()) as restarted:
        after = scrape(metrics_url(restarted), restarted.token)

    assert domain(before) != {}
    assert domain(after) == domain(before)
    assert after.value("ledger_grpc_requests_total", method="CreateApp", code="OK") is None


@pytest.mark.postgres
def test_two_ledgerd_on_one_postgresql_answer_the_same_totals(
    postgres_url: str, tmp_path: Path
) -> None:
    shared = Settings(
        database_url=postgres_url,
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
        cipher_key=base64.b64encode(os.urandom(32)).decode(),
        signing_key_file=tmp_path / "signing.key",
    )
    one = InProcessLedgerd(replace(shared, data_dir=tmp_path / "one"), runtime())
    two = InProcessLedgerd(replace(shared, data_dir=tmp_path / "two"), runtime())
    with one, two, one.channel() as channel:
        tell_story(LedgerStub(channel), tmp_path)
        first = scrape(metrics_url(one), one.token)
        second = scrape(metrics_url(two), two.token)

    assert first.value("ledger_promotions_total", app="shop", outcome="rolled_back") == 1.0
    backends = {
        dict(labels)["backend"] for name, labels in first.samples() if name == "ledger_info"
    }
    assert backends == {"postgresql"}
    assert domain(second) == domain(first)


# -- protection --------------------------------------------------------------------------


def test_metrics_turned_off_are_not_found_on_the_console(settings: Settings) -> None:
    with InProcessLedgerd(replace(settings, metrics="off")) as server:
        answer = scrape(metrics_url(server), server.token)

    assert answer.status == 404


def test_metrics_on_an_address_of_their_own_need_no_key_and_leave_the_console(
    settings: Settings,
) -> None:
    with InProcessLedgerd(replace(settings, metrics="127.0.0.1:0")) as server:
        assert server.server is not None and server.server.metrics is not None
        open_answer = scrape(server.server.metrics.url)
        on_console = scrape(metrics_url(server), server.token)

    assert open_answer.status == 200
    assert open_answer.value("ledger_integrity_ok") == 1.0
    assert on_console.status == 404


def test_a_scrape_without_a_token_is_refused_with_one_line(settings: Settings) -> None:
    with InProcessLedgerd(settings) as server:
        answer = scrape(metrics_url(server))

    assert answer.status == 401
    assert answer.body.count("\n") == 1
    assert "Authorization: Bearer" in answer.body


def test_a_scrape_with_an_unknown_token_is_refused(settings: Settings) -> None:
    with InProcessLedgerd(settings) as server:
        unknown = "dl_" + "A" * 43
        answer = scrape(metrics_url(server), unknown)

    assert answer.status == 401
    assert answer.body.startswith("invalid token")
    assert unknown not in answer.body


def test_a_reader_key_sees_the_series_of_its_apps_only(settings: Settings, tmp_path: Path) -> None:
    with InProcessLedgerd(settings, runtime()) as server, server.channel() as channel:
        tell_story(LedgerStub(channel), tmp_path)
        reader = KeysStub(channel).CreateKey(
            pb.CreateKeyRequest(name="grafana", role="reader", apps=["blog"])
        )
        answer = scrape(metrics_url(server), reader.token)

    apps = {dict(labels).get("app") for _, labels in answer.samples()} - {None}
    assert answer.status == 200
    assert apps == {"blog"}
    assert answer.value("ledger_integrity_ok") == 1.0


def test_a_revoked_key_can_no_longer_scrape(settings: Settings) -> None:
    with InProcessLedgerd(settings) as server, server.channel() as channel:
        keys = KeysStub(channel)
        created = keys.CreateKey(pb.CreateKeyRequest(name="prom", role="auditor"))
        allowed = scrape(metrics_url(server), created.token)
        keys.RevokeKey(pb.RevokeKeyRequest(id=created.key.id))
        refused = scrape(metrics_url(server), created.token)

    assert allowed.status == 200
    assert refused.status == 401


def test_ledgerd_refuses_to_start_on_a_bad_metrics_setting_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LEDGER_DATA": str(tmp_path / "ledger"),
        "LEDGER_LISTEN": "127.0.0.1:0",
        "LEDGER_METRICS": "everyone",
    }
    started = subprocess.run(
        [sys.executable, "-c", "from server.main import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert started.stderr.splitlines() == [
        "ledgerd: LEDGER_METRICS must be key, off, or a host:port to serve /metrics on"
        " without auth (like 127.0.0.1:9464)"
    ]
    assert not (tmp_path / "ledger").exists()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def console_get(opener: urllib.request.OpenerDirector, url: str | urllib.request.Request) -> int:
    """The status of a GET (redirects not followed)."""
    try:
        with opener.open(url, timeout=10) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def signed_in(server: InProcessLedgerd) -> urllib.request.OpenerDirector:
    """A client with the console's session cookie of the admin key."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirects)
    with opener.open(server.console_url + "sign-in", timeout=10) as page:
        form = page.read().decode()
    csrf = re.search(r'name="csrftoken" value="([^"]+)"', form)
    assert csrf is not None
    body = urllib.parse.urlencode({"csrftoken": csrf.group(1), "token": server.token}).encode()
    assert console_get(opener, urllib.request.Request(server.console_url + "sign-in", body)) == 303
    return opener


def test_console_requests_are_counted_by_route_template_method_and_status(
    told: tuple[InProcessLedgerd, Story],
) -> None:
    server, _ = told
    anonymous = urllib.request.build_opener(_NoRedirects)
    base = server.console_url

    statuses = [
        console_get(anonymous, base + "apps/shop/releases"),  # to the sign-in page
        console_get(anonymous, base + "no/such/page"),
        console_get(signed_in(server), urllib.request.Request(base + "apps", b"name=x")),
        console_get(anonymous, urllib.request.Request(base, method="BREW")),
    ]  # the POST without its CSRF token
    answer = scrape(metrics_url(server), server.token)

    assert statuses == [303, 404, 403, 405]
    http_requests = "ledger_http_requests_total"
    assert (
        answer.value(http_requests, route="/apps/{app}/releases", method="GET", code="303") == 1.0
    )
    assert answer.value(http_requests, route="(unrouted)", method="GET", code="404") == 1.0
    assert answer.value(http_requests, route="(unrouted)", method="POST", code="403") == 1.0
    assert answer.value(http_requests, route="/sign-in", method="GET", code="200") == 1.0
    assert answer.value(http_requests, route="/sign-in", method="POST", code="303") == 1.0
    assert answer.value(http_requests, route="/", method="OTHER", code="405") == 1.0
    assert answer.value("ledger_http_request_duration_seconds_count", route="/sign-in") == 2.0
    routes = {dict(labels).get("route") for _, labels in answer.named("ledger_http_requests")}
    assert not any(route and "shop" in route for route in routes)


def test_a_console_live_stream_is_counted_when_it_ends_but_not_timed(
    told: tuple[InProcessLedgerd, Story],
) -> None:
    server, _ = told
    opener = signed_in(server)

    with opener.open(server.console_url + "live?since=0", timeout=10) as stream:
        assert stream.headers.get("content-type", "").startswith("text/event-stream")
        stream.read1(1)
    deadline = time.monotonic() + SETTLE_SECONDS
    while (answer := scrape(metrics_url(server), server.token)).value(
        "ledger_http_requests_total", route="/live", method="GET", code="200"
    ) != 1.0:
        assert time.monotonic() < deadline, "the closed stream was never counted"
        time.sleep(0.05)

    assert answer.value("ledger_http_request_duration_seconds_count", route="/live") is None
    assert answer.value("ledger_http_request_duration_seconds_count", route="/sign-in") == 2.0


def test_projection_lag_is_reported_in_seconds_while_the_views_are_behind(
    settings: Settings,
) -> None:
    with InProcessLedgerd(settings, runtime()) as server:
        container = server.container
        container.worker.stop()
        container.service.create_app(CreateApp(name="late"), Meta(actor="test@metrics"))
        time.sleep(0.3)
        behind = scrape(metrics_url(server), server.token)
        container.worker.start()
        assert container.worker.wait_for(container.ledger.head(), SETTLE_SECONDS)
        caught_up = scrape(metrics_url(server), server.token)

    assert (behind.value("ledger_projection_lag_events") or 0.0) >= 1.0
    assert (behind.value("ledger_projection_lag_seconds") or 0.0) >= 0.3
    assert caught_up.value("ledger_projection_lag_events") == 0.0
    assert caught_up.value("ledger_projection_lag_seconds") == 0.0
