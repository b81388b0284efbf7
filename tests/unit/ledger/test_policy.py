"""Who may do what (ledger/policy.py): every role, every action, on its own app and another.

The expected matrix (tests/support/policy_matrix.py) is written out independently of the
policy's tables, so that a change to what a role may do shows up as a failing line.
"""

from __future__ import annotations

import pytest

from ledger import policy
from ledger.domain.key import Role
from ledger.errors import PermissionDenied
from ledger.policy import Action, Principal
from tests.support.policy_matrix import CELLS, OTHER, OWN, allowed, case_id, cases

KEYS = {
    Role.ADMIN: Principal("K0000000001", "root", Role.ADMIN),
    Role.DEPLOYER: Principal("K0000000002", "ci", Role.DEPLOYER, frozenset({OWN})),
    Role.AUDITOR: Principal("K0000000003", "audit", Role.AUDITOR),
    Role.READER: Principal("K0000000004", "dash", Role.READER, frozenset({OWN})),
}


def test_the_matrix_names_every_action_for_every_role() -> None:
    assert {action for action, _ in CELLS} == set(Action)
    assert {role for _, role in CELLS} == set(Role)


@pytest.mark.parametrize(("action", "role", "app"), cases(), ids=case_id)
def test_a_role_may_take_an_action_on_an_app_exactly_as_the_matrix_says(
    action: Action, role: Role, app: str
) -> None:
    expected = allowed(action, role, app)

    assert policy.allows(KEYS[role], action, app) is expected
    if expected:
        policy.check(KEYS[role], action, app)
    else:
        with pytest.raises(PermissionDenied, match=r"^permission denied: key "):
            policy.check(KEYS[role], action, app)


def test_a_refusal_names_the_key_its_role_and_what_it_may_not_do() -> None:
    with pytest.raises(PermissionDenied) as refused:
        policy.check(KEYS[Role.DEPLOYER], Action.PROMOTE, OTHER)

    assert (
        str(refused.value)
        == "permission denied: key ci (deployer for shop) may not deploy app blog"
    )


def test_an_app_limited_key_reading_the_whole_log_is_told_to_name_one_of_its_apps() -> None:
    with pytest.raises(PermissionDenied, match=r"name one of its apps \(-a APP\)"):
        policy.check(KEYS[Role.READER], Action.READ_LOG, "")


def test_a_key_of_every_app_may_read_the_whole_log() -> None:
    assert policy.allows(KEYS[Role.AUDITOR], Action.READ_LOG, "")


def test_a_malformed_app_name_is_quoted_and_cut_short_in_a_refusal() -> None:
    with pytest.raises(PermissionDenied, match=r"app 'x\\x00y'$"):
        policy.check(KEYS[Role.READER], Action.READ, "x\x00y")


def test_the_actor_of_a_key_is_its_name_and_id() -> None:
    assert KEYS[Role.DEPLOYER].actor == "ci (K0000000002)"
