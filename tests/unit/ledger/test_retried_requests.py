"""Retried requests at the use cases: the original outcome, whole, and nothing recorded.

Promotions here are driven by hand (``Parked`` runs none), so a retried cancel can meet
a promotion still pending, or running with its cancel requested already.
"""

from __future__ import annotations

import pytest

from ledger import lifecycle
from ledger.application import LedgerApplication
from ledger.commands import CancelPromotion, CreateApp, Outcome, PromoteRelease, UpdateEnv
from ledger.domain import Meta
from ledger.errors import FailedPrecondition
from ledger.service import LedgerService
from runtime.record import RecordRuntime
from tests.support.builds import shop_release


class Parked:
    """A promotion driver that runs nothing: promotions stay as the use cases leave them."""

    def submit(self, promotion_id: str) -> object:
        return None

    def cancel(self, promotion_id: str) -> None:
        return None


@pytest.fixture
def parked(ledger: LedgerApplication, meta: Meta) -> LedgerService:
    """A service with the app ``shop``, whose promotions do not run."""
    service = LedgerService(ledger, RecordRuntime(), Parked())
    service.create_app(CreateApp("shop"), meta)
    return service


def test_a_retried_cancel_of_a_pending_promotion_names_the_queued_one_it_began(
    parked: LedgerService, ledger: LedgerApplication, meta: Meta
) -> None:
    first, second = shop_release(parked, meta, "shop:1"), shop_release(parked, meta, "shop:2")
    pending = parked.promote(PromoteRelease("shop", first), meta).promotion_id
    queued = parked.promote(PromoteRelease("shop", second, queue=True), meta).promotion_id
    cancel = CancelPromotion("shop", pending)
    original = parked.cancel(cancel, Meta("alice", "cancel-1"))
    head = ledger.head()

    again = parked.cancel(cancel, Meta("alice", "cancel-1"))

    assert original.next_promotion_id == queued
    assert without_position(again) == without_position(original)
    assert ledger.head() == head


def test_a_retried_cancel_of_a_running_promotion_gets_the_original_outcome(
    parked: LedgerService, ledger: LedgerApplication, meta: Meta
) -> None:
    begun = parked.promote(PromoteRelease("shop", shop_release(parked, meta)), meta)
    running = ledger.promotion("shop", begun.promotion_id)
    lifecycle.start(running, meta)
    ledger.save(running)
    cancel = CancelPromotion("shop", running.promotion_id)
    original = parked.cancel(cancel, Meta("alice", "cancel-2"))
    head = ledger.head()

    again = parked.cancel(cancel, Meta("alice", "cancel-2"))

    assert without_position(again) == without_position(original)
    assert ledger.head() == head


def test_a_retried_env_change_with_a_release_gets_what_it_changed_and_its_release(
    parked: LedgerService, ledger: LedgerApplication, meta: Meta
) -> None:
    shop_release(parked, meta)
    change = UpdateEnv("shop", {"A": "1"}, base_release_id=ledger.app("shop").latest_release_id)
    original = parked.update_env(change, Meta("alice", "env-1"))
    head = ledger.head()

    again = parked.update_env(change, Meta("alice", "env-1"))

    assert (again.added, again.release_id) == (("A",), original.release_id)
    assert without_position(again) == without_position(original)
    assert ledger.head() == head


def test_a_request_id_reused_for_a_change_already_made_is_refused(
    parked: LedgerService, ledger: LedgerApplication
) -> None:
    parked.update_env(UpdateEnv("shop", {"A": "1"}), Meta("alice", "env-2"))

    with pytest.raises(FailedPrecondition, match="already used for a different request"):
        parked.update_env(UpdateEnv("shop", {"A": "1"}, description="again"), Meta("a", "env-2"))


def test_an_outcome_kept_in_a_request_record_comes_back_whole() -> None:
    outcome = Outcome(
        app="shop",
        release_id="R1",
        promotion_id="P1",
        env_version=3,
        added=("A",),
        changed=("B",),
        removed=("C", "D"),
    )

    assert Outcome.from_record(outcome.to_record()) == outcome


def test_a_field_a_newer_version_kept_in_a_request_record_is_left_out() -> None:
    kept = {**Outcome(app="shop", build_id="B1").to_record(), "answered_by": "ledgerd 9"}

    assert Outcome.from_record(kept) == Outcome(app="shop", build_id="B1")


def without_position(outcome: Outcome) -> Outcome:
    """The outcome without its position (a retry is answered at the log's head then)."""
    return Outcome.from_record(outcome.to_record())
