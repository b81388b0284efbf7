"""Who may do what: roles, the permissions they grant, and the principal a request acts as.

Pure rules, no I/O: the gRPC server authenticates a request to a :class:`Principal` (the
deploy key it presented) and asks it whether an action on an app is allowed; use cases
record the principal's :attr:`~Principal.actor` on every event.

Roles:

- ``admin``: everything on every app, including creating apps and managing keys.
- ``deployer``: on the apps named on its key only: read, build, deploy (promote, roll
  back, cancel), change the env and the app's settings, see env values. A deployer cannot
  create apps (an admin creates the app, then a key for it), so a CI key can never widen
  its own reach.
- ``auditor``: read-only on every app, the whole log and audit proofs; never env values.
- ``reader``: read-only on the apps named on its key (their log included); no env values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ledger.errors import InvalidArgument, PermissionDenied
from ledger.ids import APP_NAME, check_app_name


class Role(StrEnum):
    """The four kinds of deploy key (see the module docstring for what each may do)."""

    ADMIN = "admin"
    DEPLOYER = "deployer"
    AUDITOR = "auditor"
    READER = "reader"


class Permission(StrEnum):
    """One kind of action; each RPC needs exactly one (see ``server/grpc/methods.py``)."""

    READ = "read"  # apps, builds, logs, releases, promotions, env keys
    READ_LOG = "read_log"  # the event log (history, watch)
    REVEAL_ENV = "reveal_env"  # env values (GetEnv, GetRelease)
    CREATE_APP = "create_app"
    CONFIGURE_APP = "configure_app"
    BUILD = "build"
    DEPLOY = "deploy"  # promote, roll back, cancel a promotion
    CHANGE_ENV = "change_env"
    AUDIT = "audit"  # audit proofs and checkpoints
    MANAGE_KEYS = "manage_keys"


_READ_ONLY = frozenset({Permission.READ, Permission.READ_LOG})
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.DEPLOYER: _READ_ONLY
    | {
        Permission.REVEAL_ENV,
        Permission.CONFIGURE_APP,
        Permission.BUILD,
        Permission.DEPLOY,
        Permission.CHANGE_ENV,
    },
    Role.AUDITOR: _READ_ONLY | {Permission.AUDIT},
    Role.READER: _READ_ONLY,
}
ALL_APPS = frozenset({Role.ADMIN, Role.AUDITOR})
"""Roles that act on every app; the others act on the apps named on their key only."""

# How a refusal reads: "key ci (deployer for shop) may not <verb> [app X]".
VERBS: dict[Permission, str] = {
    Permission.READ: "read",
    Permission.READ_LOG: "read the log of",
    Permission.REVEAL_ENV: "see the env values of",
    Permission.CREATE_APP: "create apps",
    Permission.CONFIGURE_APP: "change the settings of",
    Permission.BUILD: "build",
    Permission.DEPLOY: "deploy",
    Permission.CHANGE_ENV: "change the env of",
    Permission.AUDIT: "read audit proofs",
    Permission.MANAGE_KEYS: "manage keys",
}
_APP_WIDE = frozenset({Permission.CREATE_APP, Permission.AUDIT, Permission.MANAGE_KEYS})

KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MAX_KEY_APPS = 100


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
        return self.role in ALL_APPS

    def may(self, permission: Permission, app: str = "") -> bool:
        """Whether this key may take ``permission`` on ``app`` ('' for no particular app:
        allowed only to keys that act on every app, or for app-wide permissions)."""
        if permission not in PERMISSIONS[self.role]:
            return False
        if self.all_apps or permission in _APP_WIDE:
            return True
        return app in self.apps

    def check_role(self, permission: Permission) -> None:
        """Raise :class:`PermissionDenied` unless the role grants ``permission`` (on any app)."""
        if permission not in PERMISSIONS[self.role]:
            raise PermissionDenied(
                f"permission denied: {self.describe()} may not {VERBS[permission]}"
            )

    def check(self, permission: Permission, app: str = "") -> None:
        """Raise :class:`PermissionDenied` (a one-line, secret-free reason) unless allowed."""
        if self.may(permission, app):
            return
        verb = VERBS[permission]
        if permission in _APP_WIDE:
            what = verb
        elif app:
            what = f"{verb} app {_shown(app)}"
        elif permission not in PERMISSIONS[self.role]:
            what = verb
        else:  # allowed on its own apps, asked about all of them
            what = f"{verb} every app: name one of its apps (-a APP)"
        raise PermissionDenied(f"permission denied: {self.describe()} may not {what}")

    def describe(self) -> str:
        """``key ci (deployer for shop, web)`` / ``key root (admin)``."""
        scope = f" for {', '.join(sorted(self.apps))}" if not self.all_apps else ""
        return f"key {self.name} ({self.role}{scope})"


def _shown(app: str) -> str:
    """An app name as a refusal shows it: a malformed one (the request is checked before
    its fields are) quoted and cut short, so the message stays one short line."""
    return app if APP_NAME.fullmatch(app) else repr(app[:40])


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(role.value for role in Role)
        raise InvalidArgument(f"invalid role {value[:40]!r}: use one of {roles}") from None


def check_key_name(name: str) -> str:
    if not KEY_NAME.fullmatch(name):
        raise InvalidArgument(
            f"invalid key name {name[:40]!r}: use 1-64 letters, digits or ._@-, "
            "starting with a letter or digit"
        )
    return name


def check_key_apps(role: Role, apps: tuple[str, ...]) -> tuple[str, ...]:
    """The apps of a key of ``role``, sorted and unique: required for deployers and
    readers, refused for the roles that act on every app."""
    if role in ALL_APPS:
        if apps:
            raise InvalidArgument(f"{role} keys act on every app: give no apps")
        return ()
    if not apps:
        raise InvalidArgument(f"a {role} key needs at least one app")
    if len(apps) > MAX_KEY_APPS:
        raise InvalidArgument(f"at most {MAX_KEY_APPS} apps per key")
    return tuple(sorted({check_app_name(app) for app in apps}))
