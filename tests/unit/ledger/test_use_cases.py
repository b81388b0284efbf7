"""The use cases of the ledger's semantics (docs/design.md), on the in-memory event store."""

import pytest

from ledger.application import LedgerApplication
from ledger.commands import (
    CancelPromotion,
    CreateApp,
    CreateBuild,
    PromoteRelease,
    RollbackRelease,
    UpdateEnv,
)
from ledger.domain import Meta
from ledger.domain.base import event_type
from ledger.errors import AlreadyExists, Conflict, FailedPrecondition, InvalidArgument, NotFound
from tests.support.builds import image_build
from tests.support.builds import shop_release as build


def types_after(ledger: LedgerApplication, position: int) -> list[str]:
    return [
        event_type(n.topic)
        for n in ledger.recorder.select_notifications(start=position, limit=1000)
        if n.id > position
    ]


def test_a_new_app_has_no_release_and_env_version_zero(service, shop, ledger):
    app = ledger.app(shop)
    assert (app.release_count, app.active_release_id, app.env_version) == (0, "", 0)


def test_a_second_app_with_the_same_name_is_refused(service, shop, meta):
    with pytest.raises(AlreadyExists):
        service.create_app(CreateApp("shop"), meta)


@pytest.mark.parametrize("name", ["", "Shop", "1shop", "shop_x", "a" * 31, "shop!"])
def test_a_bad_app_name_is_refused_and_nothing_is_recorded(service, ledger, meta, name):
    with pytest.raises(InvalidArgument):
        service.create_app(CreateApp(name), meta)
    assert ledger.head() == 0


def test_a_succeeded_build_creates_an_unpromoted_release_with_the_env_head(
    service, shop, meta, ledger
):
    service.update_env(UpdateEnv(shop, {"DB": "postgres://secret"}), meta)
    release_id = build(service, meta)
    release = ledger.release(shop, release_id)
    assert release.release_version == 1
    assert release.env == {"DB": "postgres://secret"}
    assert release.reason == "build"
    assert ledger.app(shop).active_release_id == ""


def test_promote_makes_the_release_active(service, shop, meta, ledger):
    release_id = build(service, meta)
    outcome = service.promote(PromoteRelease(shop, release_id), meta)
    assert ledger.promotion(shop, outcome.promotion_id).status == "succeeded"
    assert ledger.app(shop).active_release_id == release_id


def test_env_change_releases_the_active_build_not_the_newest(service, shop, meta, ledger):
    active = build(service, meta, "shop:1")
    service.promote(PromoteRelease(shop, active), meta)
    build(service, meta, "shop:2")  # built, never promoted
    outcome = service.update_env(UpdateEnv(shop, {"A": "1"}), meta)
    release = ledger.release(shop, outcome.release_id)
    assert release.image == "shop:1"
    assert release.parent_id == active
    assert release.reason == "env"
    assert ledger.app(shop).active_release_id == active


def test_env_change_with_promote_makes_the_new_release_active(service, shop, meta, ledger):
    service.promote(PromoteRelease(shop, build(service, meta)), meta)
    outcome = service.update_env(UpdateEnv(shop, {"A": "1"}, promote=True), meta)
    assert ledger.app(shop).active_release_id == outcome.release_id
    assert ledger.release(shop, outcome.release_id).env == {"A": "1"}


def test_env_change_before_any_release_is_recorded_and_picked_up_by_the_first_build(
    service, shop, meta, ledger
):
    outcome = service.update_env(UpdateEnv(shop, {"A": "1"}), meta)
    assert outcome.release_id == ""
    release = ledger.release(shop, build(service, meta))
    assert (release.env, release.env_version) == ({"A": "1"}, 1)


def test_an_env_value_the_log_cannot_store_is_refused_by_name_and_records_nothing(
    service, shop, meta, ledger
):
    head = ledger.head()

    with pytest.raises(InvalidArgument, match="the value of A is not valid Unicode text"):
        service.update_env(UpdateEnv(shop, {"A": "lone \ud800 surrogate"}), meta)

    assert ledger.head() == head


def test_env_change_with_promote_and_no_release_is_refused_and_records_nothing(
    service, shop, meta, ledger
):
    head = ledger.head()
    with pytest.raises(FailedPrecondition):
        service.update_env(UpdateEnv(shop, {"A": "1"}, promote=True), meta)
    assert ledger.head() == head


def test_a_stale_env_edit_is_rejected_and_records_nothing(service, shop, meta, ledger):
    service.update_env(UpdateEnv(shop, {"A": "1"}, expected_version=0), meta)
    head = ledger.head()
    with pytest.raises(Conflict):
        service.update_env(UpdateEnv(shop, {"A": "2"}, expected_version=0), meta)
    assert ledger.head() == head
    assert ledger.app(shop).env == {"A": "1"}


def test_env_changes_report_added_changed_and_removed_keys(service, shop, meta):
    service.update_env(UpdateEnv(shop, {"A": "1", "B": "2"}), meta)
    outcome = service.update_env(UpdateEnv(shop, {"A": "9", "C": "3"}, unset=("B",)), meta)
    assert (outcome.added, outcome.changed, outcome.removed) == (("C",), ("A",), ("B",))


def test_replace_makes_set_the_whole_env(service, shop, meta, ledger):
    service.update_env(UpdateEnv(shop, {"A": "1", "B": "2"}), meta)
    service.update_env(UpdateEnv(shop, {"C": "3"}, replace=True), meta)
    assert ledger.app(shop).env == {"C": "3"}


def test_unsetting_a_key_that_is_not_set_is_refused(service, shop, meta):
    with pytest.raises(NotFound):
        service.update_env(UpdateEnv(shop, unset=("NOPE",)), meta)


@pytest.mark.parametrize("key", ["1A", "A-B", "", "A B"])
def test_a_bad_env_key_is_refused(service, shop, meta, key):
    with pytest.raises(InvalidArgument):
        service.update_env(UpdateEnv(shop, {key: "x"}), meta)


def test_release_versions_count_up_and_are_never_reused(service, shop, meta, ledger):
    first = build(service, meta)
    service.promote(PromoteRelease(shop, first), meta)
    service.update_env(UpdateEnv(shop, {"A": "1"}), meta)
    service.rollback(RollbackRelease(shop, first), meta)
    last = build(service, meta)
    assert ledger.release(shop, last).release_version == 4


def test_rollback_creates_a_copy_of_the_target_and_keeps_newer_releases(
    service, shop, meta, ledger
):
    v1 = build(service, meta, "shop:1")
    service.promote(PromoteRelease(shop, v1), meta)
    v2 = service.update_env(UpdateEnv(shop, {"BAD": "1"}, promote=True), meta).release_id
    outcome = service.rollback(RollbackRelease(shop, v1), meta)
    copy = ledger.release(shop, outcome.release_id)
    assert (copy.reason, copy.parent_id, copy.image, copy.env) == ("rollback", v1, "shop:1", {})
    assert ledger.app(shop).active_release_id == copy.release_id
    assert ledger.app(shop).env == {}
    service.promote(PromoteRelease(shop, v2), meta)  # roll forward
    assert ledger.app(shop).active_release_id == v2


def test_promoting_a_release_of_another_app_is_refused(service, shop, meta):
    service.create_app(CreateApp("blog"), meta)
    other = image_build(service, CreateBuild("blog", "blog:1"), meta).release_id
    with pytest.raises(NotFound):
        service.promote(PromoteRelease(shop, other), meta)


def test_promoting_an_unknown_release_is_refused(service, shop, meta):
    with pytest.raises(NotFound):
        service.promote(PromoteRelease(shop, "RAAAAAAAAAA"), meta)


def test_promoting_with_no_release_is_refused(service, shop, meta):
    with pytest.raises(FailedPrecondition):
        service.promote(PromoteRelease(shop), meta)


def test_cancelling_a_finished_promotion_is_refused(service, shop, meta):
    promotion = service.promote(PromoteRelease(shop, build(service, meta)), meta).promotion_id
    with pytest.raises(FailedPrecondition):
        service.cancel(CancelPromotion(shop, promotion), meta)


def test_a_retried_request_returns_the_original_result_and_records_nothing(service, shop, ledger):
    meta = Meta(actor="ci", request_id="build-42")
    first = image_build(service, CreateBuild(shop, "shop:1"), meta)
    head = ledger.head()
    again = image_build(service, CreateBuild(shop, "shop:1"), meta)
    assert (again.build_id, again.release_id) == (first.build_id, first.release_id)
    assert ledger.head() == head


def test_a_request_id_reused_for_a_different_request_is_refused(service, shop, ledger):
    image_build(service, CreateBuild(shop, "shop:1"), Meta("ci", "req-1"))
    with pytest.raises(FailedPrecondition):
        image_build(service, CreateBuild(shop, "shop:2"), Meta("ci", "req-1"))


def test_every_event_names_the_actor_and_the_request(service, shop, ledger):
    position = ledger.head()
    image_build(service, CreateBuild(shop, "shop:1"), Meta("ci-bot", "req-7"))
    for notification in ledger.recorder.select_notifications(start=position + 1, limit=100):
        event = ledger.mapper.to_domain_event(notification)
        assert (event.actor, event.request_id, event.app) == ("ci-bot", "req-7", "shop")


def test_a_promotion_records_requested_started_step_and_succeeded(service, shop, meta, ledger):
    release_id = build(service, meta)
    position = ledger.head()
    service.promote(PromoteRelease(shop, release_id), meta)
    assert types_after(ledger, position) == [
        "PromotionRequested",
        "PromotionBegun",
        "PromotionStarted",
        "PromotionStepRecorded",
        "PromotionSucceeded",
        "ReleaseActivated",
        "PromotionSettled",
    ]
