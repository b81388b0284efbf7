"""Promotion failure paths, driven by a runtime that fails on purpose.

The runtime port is ours; ``FailingRuntime`` (tests/support/runtimes.py) stands in for a
runtime whose containers fail to start, so the ledger's side of failure and rollback can
be checked without Docker.
"""

import pytest

from ledger.application import LedgerApplication
from ledger.commands import CancelPromotion, CreateApp, CreateBuild, PromoteRelease
from ledger.domain import Meta
from ledger.promoter import Promoter
from ledger.runtime import Runtime
from ledger.service import LedgerService
from tests.support.builds import image_build
from tests.support.runtimes import BlockingRuntime, FailingRuntime


def make_service(ledger: LedgerApplication, runtime: Runtime, workers: int = 0) -> LedgerService:
    return LedgerService(ledger, runtime, Promoter(ledger, runtime, max_workers=workers))


@pytest.fixture
def meta() -> Meta:
    return Meta("alice")


def test_a_failed_rollout_is_rolled_back_and_the_previous_release_stays_active(ledger, meta):
    service = make_service(ledger, FailingRuntime({"shop:bad"}))
    service.create_app(CreateApp("shop"), meta)
    good = image_build(service, CreateBuild("shop", "shop:good"), meta).release_id
    service.promote(PromoteRelease("shop", good), meta)
    bad = image_build(service, CreateBuild("shop", "shop:bad"), meta).release_id
    promotion_id = service.promote(PromoteRelease("shop", bad), meta).promotion_id
    promotion = ledger.promotion("shop", promotion_id)
    assert promotion.status == "rolled_back"
    assert promotion.cause["kind"] == "process_failed"
    assert promotion.cause["exit_code"] == 3
    app = ledger.app("shop")
    assert (app.active_release_id, app.promotion_id) == (good, "")


def test_a_failed_rollback_is_recorded_as_rollback_failed(ledger, meta):
    service = make_service(ledger, FailingRuntime({"shop:bad"}, restore_fails=True))
    service.create_app(CreateApp("shop"), meta)
    bad = image_build(service, CreateBuild("shop", "shop:bad"), meta).release_id
    promotion_id = service.promote(PromoteRelease("shop", bad), meta).promotion_id
    assert ledger.promotion("shop", promotion_id).status == "rollback_failed"
    assert ledger.app("shop").promotion_id == ""


def test_the_failed_release_stays_promotable_later(ledger, meta):
    runtime = FailingRuntime({"shop:flaky"})
    service = make_service(ledger, runtime)
    service.create_app(CreateApp("shop"), meta)
    flaky = image_build(service, CreateBuild("shop", "shop:flaky"), meta).release_id
    service.promote(PromoteRelease("shop", flaky), meta)
    runtime.fail_images.clear()
    service.promote(PromoteRelease("shop", flaky), meta)
    assert ledger.app("shop").active_release_id == flaky


def test_a_second_promotion_while_one_is_in_flight_is_refused(ledger, meta):
    runtime = BlockingRuntime()
    service = make_service(ledger, runtime, workers=2)
    service.create_app(CreateApp("shop"), meta)
    release = image_build(service, CreateBuild("shop", "shop:1"), meta).release_id
    first = service.promote(PromoteRelease("shop", release), meta).promotion_id
    assert runtime.started.wait(5)
    with pytest.raises(Exception, match="in flight"):
        service.promote(PromoteRelease("shop", release), meta)
    service.cancel(CancelPromotion("shop", first), meta)
    service.promoter.close()
    assert ledger.promotion("shop", first).status == "cancelled"
    assert ledger.app("shop").promotion_id == ""
