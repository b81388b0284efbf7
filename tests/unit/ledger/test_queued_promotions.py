"""Queued promotions and per-app deadlines, with a runtime that rolls out when told to.

The runtime port is ours; ``GatedRuntime`` (tests/support/runtimes.py) holds each
rollout until the test releases it, so the order in which queued promotions run can be
observed without Docker.
"""

import threading

import pytest

from ledger.application import LedgerApplication
from ledger.commands import (
    CancelPromotion,
    CreateApp,
    CreateBuild,
    PromoteRelease,
    RollbackRelease,
    UpdateApp,
    UpdateEnv,
)
from ledger.domain import Meta
from ledger.errors import FailedPrecondition, InvalidArgument
from ledger.promoter import Promoter
from ledger.service import LedgerService
from tests.support.builds import image_build
from tests.support.runtimes import GatedRuntime


@pytest.fixture
def runtime() -> GatedRuntime:
    return GatedRuntime()


@pytest.fixture
def service(ledger: LedgerApplication, runtime: GatedRuntime):
    service = LedgerService(ledger, runtime, Promoter(ledger, runtime, max_workers=4))
    yield service
    for gate in runtime.gates.values():
        gate.set()
    service.promoter.close()


def releases(service: LedgerService, meta: Meta, count: int) -> list[str]:
    service.create_app(CreateApp("shop"), meta)
    return [
        image_build(service, CreateBuild("shop", f"shop:{n}"), meta).release_id
        for n in range(count)
    ]


def wait_until(condition, timeout: float = 5.0) -> None:
    finished = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        finished.wait(0.01)
    raise AssertionError("condition not met in time")


def test_a_queued_promotion_waits_behind_the_one_in_flight_then_runs(
    ledger, service, runtime, meta
):
    first, second = releases(service, meta, 2)
    running = service.promote(PromoteRelease("shop", first), meta)
    queued = service.promote(PromoteRelease("shop", second, queue=True), meta)
    assert queued.queued and not running.queued
    assert list(ledger.app("shop").queued) == [queued.promotion_id]
    assert ledger.promotion("shop", queued.promotion_id).status == "pending"

    runtime.gate(first).set()
    runtime.gate(second).set()
    wait_until(lambda: ledger.promotion("shop", queued.promotion_id).status == "succeeded")
    assert runtime.started == [first, second]
    promotion = ledger.promotion("shop", queued.promotion_id)
    assert promotion.previous_release_id == first  # learnt when its turn came
    assert ledger.app("shop").active_release_id == second


def test_queued_promotions_run_in_the_order_they_were_asked_for(ledger, service, runtime, meta):
    first, second, third = releases(service, meta, 3)
    service.promote(PromoteRelease("shop", first), meta)
    service.promote(PromoteRelease("shop", third, queue=True), meta)
    last = service.promote(PromoteRelease("shop", second, queue=True), meta)
    for release in (first, second, third):
        runtime.gate(release).set()
    wait_until(lambda: ledger.promotion("shop", last.promotion_id).status == "succeeded")
    assert runtime.started == [first, third, second]
    assert ledger.app("shop").active_release_id == second


def test_without_queue_a_second_promotion_is_still_refused(service, meta):
    first, second = releases(service, meta, 2)
    service.promote(PromoteRelease("shop", first), meta)
    with pytest.raises(FailedPrecondition, match="in flight"):
        service.promote(PromoteRelease("shop", second), meta)


def test_with_queue_and_nothing_in_flight_a_promotion_begins_at_once(ledger, service, meta):
    (first,) = releases(service, meta, 1)
    outcome = service.promote(PromoteRelease("shop", first, queue=True), meta)
    assert not outcome.queued
    assert ledger.app("shop").promotion_id == outcome.promotion_id


def test_cancelling_a_queued_promotion_takes_it_out_of_the_queue(ledger, service, runtime, meta):
    first, second = releases(service, meta, 2)
    service.promote(PromoteRelease("shop", first), meta)
    queued = service.promote(PromoteRelease("shop", second, queue=True), meta)
    service.cancel(CancelPromotion("shop", queued.promotion_id), meta)
    assert ledger.promotion("shop", queued.promotion_id).status == "cancelled"
    assert list(ledger.app("shop").queued) == []
    runtime.gate(first).set()
    wait_until(lambda: ledger.app("shop").promotion_id == "")
    assert runtime.started == [first]


def test_cancelling_the_promotion_in_flight_lets_the_queued_one_run(ledger, service, runtime, meta):
    first, second = releases(service, meta, 2)
    running = service.promote(PromoteRelease("shop", first), meta)
    queued = service.promote(PromoteRelease("shop", second, queue=True), meta)
    wait_until(lambda: runtime.started == [first])
    service.cancel(CancelPromotion("shop", running.promotion_id), meta)
    runtime.gate(second).set()
    wait_until(lambda: ledger.promotion("shop", queued.promotion_id).status == "succeeded")
    assert ledger.promotion("shop", running.promotion_id).status == "cancelled"
    assert ledger.app("shop").active_release_id == second


def test_a_rollback_can_queue_too(ledger, service, runtime, meta):
    first, second = releases(service, meta, 2)
    runtime.gate(first).set()
    done = service.promote(PromoteRelease("shop", first), meta)
    wait_until(lambda: ledger.promotion("shop", done.promotion_id).status == "succeeded")
    service.promote(PromoteRelease("shop", second), meta)
    rollback = service.rollback(RollbackRelease("shop", first, queue=True), meta)
    assert rollback.queued
    runtime.gate(second).set()
    runtime.gate(rollback.release_id).set()
    wait_until(lambda: ledger.promotion("shop", rollback.promotion_id).status == "succeeded")
    assert ledger.app("shop").active_release_id == rollback.release_id


def test_a_queued_promotion_changes_the_env_head_only_when_it_settles_succeeded(
    ledger, service, runtime, meta
):
    (first,) = releases(service, meta, 1)
    runtime.gate(first).set()
    done = service.promote(PromoteRelease("shop", first), meta)
    wait_until(lambda: ledger.promotion("shop", done.promotion_id).status == "succeeded")
    second = service.update_env(UpdateEnv("shop", {"A": "1"}), meta).release_id
    third = service.update_env(UpdateEnv("shop", {"A": "2"}), meta).release_id
    running = service.promote(PromoteRelease("shop", second), meta)
    queued = service.promote(PromoteRelease("shop", third, queue=True), meta)
    assert (ledger.app("shop").env, ledger.app("shop").env_version) == ({"A": "2"}, 2)

    runtime.gate(second).set()
    wait_until(lambda: ledger.promotion("shop", queued.promotion_id).status == "running")
    assert ledger.promotion("shop", running.promotion_id).status == "succeeded"
    assert (ledger.app("shop").env, ledger.app("shop").env_version) == ({"A": "1"}, 3)

    runtime.gate(third).set()
    wait_until(lambda: ledger.promotion("shop", queued.promotion_id).status == "succeeded")
    assert (ledger.app("shop").env, ledger.app("shop").env_version) == ({"A": "2"}, 4)


def test_a_rollback_changes_the_env_head_only_when_its_release_is_made_active(
    ledger, service, runtime, meta
):
    (first,) = releases(service, meta, 1)
    runtime.gate(first).set()
    done = service.promote(PromoteRelease("shop", first), meta)
    wait_until(lambda: ledger.promotion("shop", done.promotion_id).status == "succeeded")
    env = service.update_env(UpdateEnv("shop", {"A": "1"}, promote=True), meta)
    runtime.gate(env.release_id).set()
    wait_until(lambda: ledger.app("shop").active_release_id == env.release_id)

    rollback = service.rollback(RollbackRelease("shop", first), meta)
    assert (ledger.app("shop").env, ledger.app("shop").env_version) == ({"A": "1"}, 1)
    runtime.gate(rollback.release_id).set()
    wait_until(lambda: ledger.promotion("shop", rollback.promotion_id).status == "succeeded")
    assert (ledger.app("shop").env, ledger.app("shop").env_version) == ({}, 2)


def test_an_app_deadline_applies_to_its_promotions_unless_one_sets_its_own(
    ledger, service, runtime, meta
):
    first, second = releases(service, meta, 2)
    service.update_app(UpdateApp("shop", deadline_seconds=45), meta)
    by_app = service.promote(PromoteRelease("shop", first), meta)
    own = service.promote(PromoteRelease("shop", second, deadline_seconds=7, queue=True), meta)
    assert ledger.promotion("shop", by_app.promotion_id).deadline_seconds == 45
    assert ledger.promotion("shop", own.promotion_id).deadline_seconds == 7


def test_an_app_created_with_a_deadline_keeps_it(ledger, service, meta):
    service.create_app(CreateApp("api", deadline_seconds=120), meta)
    assert ledger.app("api").deadline_seconds == 120


def test_resetting_the_app_deadline_to_zero_uses_the_server_default(ledger, service, meta):
    service.create_app(CreateApp("api", deadline_seconds=120), meta)
    service.update_app(UpdateApp("api", deadline_seconds=0), meta)
    release = image_build(service, CreateBuild("api", "api:1"), meta).release_id
    outcome = service.promote(PromoteRelease("api", release), meta)
    assert ledger.promotion("api", outcome.promotion_id).deadline_seconds == 600


def test_a_negative_app_deadline_is_refused(service, meta):
    with pytest.raises(InvalidArgument):
        service.create_app(CreateApp("api", deadline_seconds=-1), meta)
