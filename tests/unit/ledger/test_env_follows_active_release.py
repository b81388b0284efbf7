"""The app's env head follows the release made active, on the in-memory event store.

A promotion that succeeds records, with the activation, an ``EnvChanged`` (reason
``promote``) that makes the head the env of the release now running, so the next env
edit builds on what runs. (Queued promotions: see test_queued_promotions.py.)
"""

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, PromoteRelease, RollbackRelease, UpdateEnv
from ledger.domain import App
from ledger.promoter import Promoter
from ledger.service import LedgerService
from tests.support.builds import shop_release as build
from tests.support.runtimes import FailingRuntime


def env_changes(ledger: LedgerApplication, after: int = 0) -> list[App.EnvChanged]:
    events = (
        ledger.mapper.to_domain_event(n)
        for n in ledger.recorder.select_notifications(start=after + 1, limit=1000)
    )
    return [event for event in events if isinstance(event, App.EnvChanged)]


def test_promoting_an_older_release_makes_its_env_the_head_with_an_env_change_by_ledgerd(
    service, shop, meta, ledger
):
    v1 = build(service, meta)
    service.promote(PromoteRelease(shop, v1), meta)
    service.update_env(UpdateEnv(shop, {"A": "1", "B": "2"}, promote=True), meta)
    position = ledger.head()

    promotion_id = service.promote(PromoteRelease(shop, v1), meta).promotion_id

    (change,) = env_changes(ledger, position)
    assert (change.reason, change.actor, change.env_version) == ("promote", "ledgerd", 2)
    assert (change.removed, change.values) == (["A", "B"], {})
    assert change.description == f"v1 made active by promotion {promotion_id}"
    assert (ledger.app(shop).env, ledger.app(shop).env_version) == ({}, 2)


def test_a_person_s_env_edit_is_recorded_with_reason_set(service, shop, meta, ledger):
    service.update_env(UpdateEnv(shop, {"A": "1"}), meta)
    (change,) = env_changes(ledger)
    assert (change.reason, change.actor) == ("set", meta.actor)


def test_after_a_rollback_and_a_roll_forward_env_set_edits_the_rolled_forward_values(
    service, shop, meta, ledger
):
    service.promote(PromoteRelease(shop, build(service, meta)), meta)
    v2 = service.update_env(UpdateEnv(shop, {"A": "1"}, promote=True), meta).release_id
    v3 = service.update_env(UpdateEnv(shop, {"B": "2"}, promote=True), meta).release_id
    service.rollback(RollbackRelease(shop, v2), meta)
    assert ledger.app(shop).env == {"A": "1"}
    service.promote(PromoteRelease(shop, v3), meta)  # roll forward

    outcome = service.update_env(UpdateEnv(shop, {"C": "3"}), meta)

    assert ledger.release(shop, outcome.release_id).env == {"A": "1", "B": "2", "C": "3"}
    assert (outcome.added, outcome.changed, outcome.removed) == (("C",), (), ())


def test_a_rollback_copies_the_target_s_env_and_its_version(service, shop, meta, ledger):
    v1 = build(service, meta)
    service.promote(PromoteRelease(shop, v1), meta)
    service.update_env(UpdateEnv(shop, {"A": "1"}, promote=True), meta)
    copy = ledger.release(shop, service.rollback(RollbackRelease(shop, v1), meta).release_id)
    assert (copy.env, copy.env_version, copy.parent_id) == ({}, 0, v1)
    assert (ledger.app(shop).env, ledger.app(shop).env_version) == ({}, 2)


def test_promoting_a_release_whose_env_equals_the_head_records_no_env_change(
    service, shop, meta, ledger
):
    service.update_env(UpdateEnv(shop, {"A": "1"}), meta)
    position = ledger.head()
    service.promote(PromoteRelease(shop, build(service, meta)), meta)
    assert env_changes(ledger, position) == []
    assert ledger.app(shop).env_version == 1


def test_a_failed_promotion_leaves_the_env_head_unchanged(ledger, meta):
    runtime = FailingRuntime({"shop:1"})
    service = LedgerService(ledger, runtime, Promoter(ledger, runtime, max_workers=0))
    service.create_app(CreateApp("shop"), meta)
    v1 = build(service, meta)
    service.update_env(UpdateEnv("shop", {"A": "1"}), meta)
    position = ledger.head()

    promotion_id = service.promote(PromoteRelease("shop", v1), meta).promotion_id

    assert ledger.promotion("shop", promotion_id).status == "rolled_back"
    assert env_changes(ledger, position) == []
    assert (ledger.app("shop").env, ledger.app("shop").env_version) == ({"A": "1"}, 1)
