"""GetDeployMetrics through real gRPC against a real ledgerd (record runtime, SQLite and
PostgreSQL), on a scripted story: ``shop`` deploys v1 and v2, a person rolls v2 back,
then v3 goes out; ``blog`` deploys once. The durations are checked against the times the
same ledger reports for the promotions and builds."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.server.helpers import build, create_app, deploy, rpc_error, wait_promotion
from tests.support.auth import channel_to, create_key
from tests.support.ledgerd import InProcessLedgerd


def seconds(stamp: object) -> datetime:
    assert hasattr(stamp, "ToDatetime")
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)
    return moment


def story(client: LedgerStub) -> None:
    for app in ("shop", "blog"):
        create_app(client, app)
    deploy(client, "blog", "blog:1")
    first = deploy(client, "shop", "shop:1")
    deploy(client, "shop", "shop:2")
    rollback = client.RollbackRelease(pb.RollbackReleaseRequest(app="shop", release_id=first.id))
    assert wait_promotion(client, "shop", rollback.promotion.id).status == "succeeded"
    deploy(client, "shop", "shop:3")


def promotions(client: LedgerStub, app: str) -> list[pb.Promotion]:
    page = client.ListPromotions(pb.ListPromotionsRequest(app=app, page_size=50))
    return list(reversed(page.promotions))  # oldest first


def test_the_metrics_of_an_app_follow_its_promotions(ledgerd_client: LedgerStub) -> None:
    story(ledgerd_client)
    done = promotions(ledgerd_client, "shop")
    rollback = done[2]
    builds = {
        b.release_id: b for b in ledgerd_client.ListBuilds(pb.ListBuildsRequest(app="shop")).builds
    }
    leads = [
        (seconds(p.ended_at) - seconds(builds[p.release_id].created_at)).total_seconds()
        for p in done
        if p.release_id in builds
    ]

    metrics = ledgerd_client.GetDeployMetrics(pb.GetDeployMetricsRequest(app="shop", days=1))

    assert (metrics.app, list(metrics.apps), metrics.period) == ("shop", ["shop"], "day")
    assert metrics.days == 1.0
    frequency = metrics.deployment_frequency
    assert (frequency.count, frequency.value) == (4, 4.0)  # v1, v2, the rollback, v3
    assert sum(point.count for point in frequency.series) == 4
    assert metrics.lead_time.count == 3  # the rollback's release is no change of code
    assert metrics.lead_time_base == "build"
    assert metrics.lead_time.value == pytest.approx(statistics.median(leads), abs=1e-3)
    # v2 was rolled back by a person at once: one failure of four ended promotions.
    assert (metrics.failures, metrics.change_failure_rate.count) == (1, 4)
    assert metrics.change_failure_rate.value == 0.25
    restore = (seconds(rollback.ended_at) - seconds(rollback.created_at)).total_seconds()
    assert metrics.time_to_restore.count == 1
    assert metrics.time_to_restore.value == pytest.approx(restore, abs=1e-3)
    assert metrics.unrestored == 0
    assert metrics.rollback_window_seconds == 24 * 3600


def test_overall_metrics_pool_only_the_apps_the_key_may_read(
    ledgerd: InProcessLedgerd, ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel
) -> None:
    story(ledgerd_client)
    _, token = create_key(ledgerd_channel, "dash", "reader", "blog")

    overall = ledgerd_client.GetDeployMetrics(pb.GetDeployMetricsRequest(period="all"))
    with channel_to(ledgerd.address, token) as channel:
        readers = LedgerStub(channel).GetDeployMetrics(pb.GetDeployMetricsRequest(period="all"))
        refused = rpc_error(
            lambda: LedgerStub(channel).GetDeployMetrics(pb.GetDeployMetricsRequest(app="shop"))
        )

    assert (list(overall.apps), overall.deployment_frequency.count) == (["blog", "shop"], 5)
    assert len(overall.deployment_frequency.series) == 1
    assert (list(readers.apps), readers.deployment_frequency.count) == (["blog"], 1)
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_window_that_ends_before_the_story_shows_nothing(ledgerd_client: LedgerStub) -> None:
    create_app(ledgerd_client, "shop")
    release_id = build(ledgerd_client, "shop", "shop:1").release_id
    request = pb.GetDeployMetricsRequest(app="shop", period="week")
    request.until.FromDatetime(datetime(2020, 1, 1, tzinfo=UTC))
    ledgerd_client.PromoteRelease(pb.PromoteReleaseRequest(app="shop", release_id=release_id))

    metrics = ledgerd_client.GetDeployMetrics(request)

    assert metrics.deployment_frequency.count == 0
    assert len(metrics.deployment_frequency.series) == 13  # 84 days from a Wednesday
    assert not metrics.lead_time.HasField("value")


@pytest.mark.parametrize(
    ("request_", "code", "details"),
    [
        (pb.GetDeployMetricsRequest(app="nope"), grpc.StatusCode.NOT_FOUND, "app nope not found"),
        (
            pb.GetDeployMetricsRequest(app="shop", period="month"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "period must be day, week or all, not 'month'",
        ),
        (
            pb.GetDeployMetricsRequest(app="shop", days=400),
            grpc.StatusCode.INVALID_ARGUMENT,
            "days must be between 0 and 366 for period day",
        ),
    ],
)
def test_a_bad_request_is_refused_in_one_line(
    ledgerd_client: LedgerStub, request_: pb.GetDeployMetricsRequest, code: object, details: str
) -> None:
    create_app(ledgerd_client, "shop")

    error = rpc_error(lambda: ledgerd_client.GetDeployMetrics(request_))

    assert (error.code(), error.details()) == (code, details)
