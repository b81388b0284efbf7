"""What each role may do, written out once for the policy's tests and both entry points'.

Every role, every action, on the key's own app and on another: the unit test holds the
policy to it, and the gRPC and console tests hold each entry point to it, so an entry point
that forgot a check (or checked a different action) shows up as a failing line.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.domain.key import Role
from ledger.policy import Action

OWN, OTHER = "shop", "blog"
ROLES = (Role.ADMIN, Role.DEPLOYER, Role.AUDITOR, Role.READER)

# all: on every app · own: on the key's apps only · yes: app-wide, allowed · -: refused
MATRIX = """
action            admin  deployer  auditor  reader
read              all    own       all      own
read_log          all    own       all      own
reveal_env        all    own       -        -
create_app        yes    -         -        -
configure_app     all    own       -        -
build             all    own       -        -
promote           all    own       -        -
rollback          all    own       -        -
cancel_promotion  all    own       -        -
change_env        all    own       -        -
manage_workflows  all    own       -        -
run_command       all    own       -        -
audit             yes    -         yes      -
manage_keys       yes    -         -        -
list_apps         yes    yes       yes      yes
read_rack         yes    yes       yes      yes
who_am_i          yes    yes       yes      yes
administer        yes    -         -        -
manage_notifications  yes  -       -        -
"""


def _cells() -> dict[tuple[Action, Role], str]:
    header, *lines = [line.split() for line in MATRIX.strip().splitlines()]
    roles = [Role(name) for name in header[1:]]
    return {
        (Action(cells[0]), role): cell
        for cells in lines
        for role, cell in zip(roles, cells[1:], strict=True)
    }


CELLS = _cells()


def allowed(action: Action, role: Role, app: str) -> bool:
    """Whether a key of ``role`` (its apps: :data:`OWN` only) may take ``action`` on ``app``."""
    cell = CELLS[(action, role)]
    return cell in ("all", "yes") or (cell == "own" and app == OWN)


def cases(actions: Iterable[Action] = tuple(Action)) -> list[tuple[Action, Role, str]]:
    """Every (action, role, app) of ``actions``."""
    return [(a, r, app) for a in actions for r in ROLES for app in (OWN, OTHER)]


def case_id(value: object) -> str:
    return str(value)
