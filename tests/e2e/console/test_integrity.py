"""The console while an integrity finding stands: pages read, forms are refused saying why."""

from __future__ import annotations

import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from playwright.sync_api import Page

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from projections.scrub import CHANGED, Mismatch
from server.infra.integrity import FileFindings, Finding
from tests.support.console import shop
from tests.support.ledgerd import InProcessLedgerd

FINDING_SEEN_SECONDS = 10.0  # ledgerd reads the finding once a second


def wait_until_seen(channel: grpc.Channel) -> None:
    """Until ledgerd reports the finding (health of ledger.v1.Integrity NOT_SERVING)."""
    health = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="ledger.v1.Integrity")
    deadline = time.monotonic() + FINDING_SEEN_SECONDS
    while health.Check(request).status != health_pb2.HealthCheckResponse.NOT_SERVING:
        assert time.monotonic() < deadline, "ledgerd did not read the finding"
        time.sleep(0.05)


def test_a_form_is_refused_naming_the_position_while_pages_still_read(
    admin_page: Page,
    api: LedgerStub,
    admin_channel: grpc.Channel,
    console_ledgerd: InProcessLedgerd,
) -> None:
    v1, _v2, _v3 = shop(api)
    finding = Finding.of(Mismatch(2, 2, CHANGED), "ledgerd audit scrub")
    FileFindings(console_ledgerd.settings.data_dir).save(finding)  # as a scrub keeps it
    wait_until_seen(admin_channel)
    promotions = len(api.ListPromotions(pb.ListPromotionsRequest(app="shop")).promotions)
    admin_page.goto("/apps/shop/releases")
    token = admin_page.locator("form[action='/sign-out'] input[name=csrftoken]").input_value()

    response = admin_page.request.post(
        f"/apps/shop/releases/{v1}/promote", form={"csrftoken": token}
    )

    text = response.text()
    assert response.status == 409
    assert "writes are refused" in text and "position 2" in text
    assert "restore the ledger from a backup" in text
    assert len(api.ListPromotions(pb.ListPromotionsRequest(app="shop")).promotions) == promotions
    page = admin_page.goto("/apps/shop/releases")
    assert page is not None and page.status == 200
