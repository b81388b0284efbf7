"""A command's time budget: one deadline for every wait inside the command."""

from __future__ import annotations

import threading
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Recording

from ledger import budget
from ledger.commit import GroupCommit
from ledger.domain import App, Meta


def test_outside_any_budget_a_wait_gets_the_default_it_asks_with() -> None:
    assert budget.deadline() is None
    assert budget.remaining(7.0) == 7.0


def test_within_a_budget_a_wait_gets_what_is_left_of_it_at_most() -> None:
    with budget.within(2.0):
        assert 1.5 < budget.remaining(60.0) <= 2.0
        assert budget.remaining(0.5) == 0.5
    assert budget.deadline() is None


def test_a_nested_budget_can_shorten_the_one_around_it_but_never_lengthen_it() -> None:
    with budget.within(1.0):
        outer = budget.deadline()
        with budget.within(10.0):
            assert budget.deadline() == outer
        with budget.within(0.1):
            assert budget.remaining(60.0) <= 0.1
        assert budget.deadline() == outer


def test_a_lock_held_past_the_budget_is_given_up_on() -> None:
    lock = threading.Lock()
    lock.acquire()
    with budget.within(0.05):
        assert not budget.acquire(lock)
    lock.release()
    with budget.within(0.05):
        assert budget.acquire(lock)


def test_a_group_is_saved_within_the_earliest_deadline_of_its_commands() -> None:
    seen: list[float | None] = []

    def save(processing: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        seen.append(budget.deadline())
        return []

    with budget.within(30.0):
        GroupCommit(save).commit([App.create("shop", Meta("alice"))])
        expected = budget.deadline()

    assert seen == [expected]
