"""What an env edit would make, computed without recording (the console's preview), on
the in-memory event store: the same head and the same keys as applying the edit."""

import pytest

from ledger.application import LedgerApplication
from ledger.commands import UpdateEnv
from ledger.domain.app import env_diff
from ledger.errors import NotFound


def test_the_env_an_edit_would_make_is_the_env_applying_it_makes(service, shop, meta, ledger):
    service.update_env(UpdateEnv(shop, {"A": "1", "B": "2", "C": "3"}), meta)
    app = ledger.app(shop)
    head = ledger.head()

    after = app.env_after(set_values={"A": "9", "D": "4"}, unset=["B"], replace=False)

    assert ledger.head() == head
    outcome = service.update_env(UpdateEnv(shop, {"A": "9", "D": "4"}, unset=("B",)), meta)
    assert dict(ledger.app(shop).env) == after
    assert env_diff({"A": "1", "B": "2", "C": "3"}, after) == (
        list(outcome.added),
        list(outcome.changed),
        list(outcome.removed),
    )


def test_replacing_the_env_removes_every_key_left_out(service, shop, meta, ledger):
    service.update_env(UpdateEnv(shop, {"A": "1", "B": "2"}), meta)

    after = ledger.app(shop).env_after(set_values={"B": "2"}, unset=[], replace=True)

    assert env_diff({"A": "1", "B": "2"}, after) == ([], [], ["A"])


def test_removing_a_key_that_is_not_set_is_refused_as_applying_it_would_be(
    service, shop, meta, ledger: LedgerApplication
):
    with pytest.raises(NotFound, match="MISSING not set in the env of shop"):
        ledger.app(shop).env_after(set_values={}, unset=["MISSING"], replace=False)
