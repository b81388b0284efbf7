"""Who may do what: the one authorization policy, keyed by action, for every entry point.

A request is made with a deploy key (:class:`Principal`: its id, name, role and apps). The
policy answers whether that key may take an :class:`Action` on an app. It knows no
transport: the gRPC interceptor maps each method to its action, the web console asks for
the action a page or a button stands for, and any later entry point does the same, so
every entry point refuses exactly what the others refuse, with the same words.

Roles:

- ``admin``: everything on every app, including creating apps, managing keys and the
  notification targets the log is sent to.
- ``deployer``: on the apps named on its key only: read, build, deploy (promote, roll
  back, cancel), change the env and the app's settings, see env values, run one-off
  commands, manage workflows (a workflow deploying several apps needs all of them). A
  deployer cannot create apps (an admin creates the app, then a key for it), so a CI key
  can never widen its own reach.
- ``auditor``: read-only on every app, the whole log and audit proofs; never env values.
- ``reader``: read-only on the apps named on its key (their log included); no env values.

Every key may list the apps it may read, read the rack's versions and ask who it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.domain.key import Role
from ledger.errors import PermissionDenied
from ledger.ids import APP_NAME


class Action(StrEnum):
    """Everything a caller may ask of the ledger, named as the use case or query it runs."""

    READ = "read"  # apps, builds and logs, releases, promotions, env keys, time travel, tasks
    READ_LOG = "read_log"  # the event log: history, watch, the events around a moment
    REVEAL_ENV = "reveal_env"  # env values
    CREATE_APP = "create_app"
    CONFIGURE_APP = "configure_app"  # an app's settings (its promotion deadline)
    BUILD = "build"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    CANCEL_PROMOTION = "cancel_promotion"
    CHANGE_ENV = "change_env"
    MANAGE_WORKFLOWS = "manage_workflows"  # checked on every app the workflow deploys
    RUN_COMMAND = "run_command"  # one-off commands in an app's containers
    AUDIT = "audit"  # signed checkpoints, proofs, the raw log
    MANAGE_KEYS = "manage_keys"
    LIST_APPS = "list_apps"  # the apps the key may read
    READ_RACK = "read_rack"  # the versions ledgerd ran
    WHO_AM_I = "who_am_i"
    ADMINISTER = "administer"  # anything not named above: admin keys only (fail closed)
    MANAGE_NOTIFICATIONS = "manage_notifications"  # webhook targets of the log: admins only


_EVERY_KEY = frozenset({Action.LIST_APPS, Action.READ_RACK, Action.WHO_AM_I})
_READ_ONLY = _EVERY_KEY | {Action.READ, Action.READ_LOG}
GRANTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.DEPLOYER: _READ_ONLY
    | {
        Action.REVEAL_ENV,
        Action.CONFIGURE_APP,
        Action.BUILD,
        Action.PROMOTE,
        Action.ROLLBACK,
        Action.CANCEL_PROMOTION,
        Action.CHANGE_ENV,
        Action.MANAGE_WORKFLOWS,
        Action.RUN_COMMAND,
    },
    Role.AUDITOR: _READ_ONLY | {Action.AUDIT},
    Role.READER: _READ_ONLY,
}
"""The actions each role grants: on every app, or on its key's apps (``Role.every_app``)."""

APP_WIDE = frozenset(
    {Action.CREATE_APP, Action.AUDIT, Action.MANAGE_KEYS, Action.ADMINISTER}
    | {Action.MANAGE_NOTIFICATIONS}
    | _EVERY_KEY
)
"""Actions that concern no single app: the role alone decides."""

# How a refusal reads: "key ci (deployer for shop) may not <verb> [app X]".
VERBS: dict[Action, str] = {
    Action.READ: "read",
    Action.READ_LOG: "read the log of",
    Action.REVEAL_ENV: "see the env values of",
    Action.CREATE_APP: "create apps",
    Action.CONFIGURE_APP: "change the settings of",
    Action.BUILD: "build",
    Action.PROMOTE: "deploy",
    Action.ROLLBACK: "deploy",
    Action.CANCEL_PROMOTION: "deploy",
    Action.CHANGE_ENV: "change the env of",
    Action.MANAGE_WORKFLOWS: "manage the workflows of",
    Action.RUN_COMMAND: "run commands in",
    Action.AUDIT: "read audit proofs",
    Action.MANAGE_KEYS: "manage keys",
    Action.LIST_APPS: "list apps",
    Action.READ_RACK: "read the rack's versions",
    Action.WHO_AM_I: "ask who it is",
    Action.ADMINISTER: "do what only admin keys may do",
    Action.MANAGE_NOTIFICATIONS: "manage notifications",
}


@dataclass(frozen=True)
class Principal:
    """The deploy key a request was authenticated with: what it may do, and on which apps.

    ``apps`` is empty for the roles that act on every app (admin, auditor).
    """

    key_id: str
    name: str
    role: Role
    apps: frozenset[str] = frozenset()

    @property
    def actor(self) -> str:
        """How events name this key: ``ci (K1A2B3C4D5E)`` (names are labels, ids are unique)."""
        return f"{self.name} ({self.key_id})"

    @property
    def all_apps(self) -> bool:
        return self.role.every_app

    def describe(self) -> str:
        """``key ci (deployer for shop, web)`` / ``key root (admin)``."""
        scope = f" for {', '.join(sorted(self.apps))}" if not self.all_apps else ""
        return f"key {self.name} ({self.role}{scope})"


def grants(principal: Principal, action: Action) -> bool:
    """Whether the key's role grants ``action`` at all (on its apps, or app-wide)."""
    return action in GRANTS[principal.role]


def allows(principal: Principal, action: Action, app: str = "") -> bool:
    """Whether ``principal`` may take ``action`` on ``app``.

    ``app`` '' means every app: allowed only to keys that act on every app, unless the
    action concerns no single app (creating apps, keys, audit proofs, ...).
    """
    if not grants(principal, action):
        return False
    if principal.all_apps or action in APP_WIDE:
        return True
    return app in principal.apps


def check(principal: Principal, action: Action, app: str = "") -> None:
    """Raise :class:`PermissionDenied` (a one-line, secret-free reason) unless allowed."""
    if allows(principal, action, app):
        return
    verb = VERBS[action]
    if action in APP_WIDE:
        what = verb
    elif app:
        what = f"{verb} app {_shown(app)}"
    elif not grants(principal, action):
        what = verb
    else:  # allowed on its own apps, asked about all of them
        what = f"{verb} every app: name one of its apps (-a APP)"
    raise PermissionDenied(f"permission denied: {principal.describe()} may not {what}")


def check_granted(principal: Principal, action: Action) -> None:
    """Raise :class:`PermissionDenied` unless the role grants ``action`` on some app (for a
    request that names a resource not found: its app is unknown, the answer NOT_FOUND)."""
    if not grants(principal, action):
        raise PermissionDenied(f"permission denied: {principal.describe()} may not {VERBS[action]}")


def _shown(app: str) -> str:
    """An app name as a refusal shows it: a malformed one (the request is checked before
    its fields are) quoted and cut short, so the message stays one short line."""
    return app if APP_NAME.fullmatch(app) else repr(app[:40])
