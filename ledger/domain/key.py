"""The Key aggregate: a deploy key, created with a role and apps, revoked for good; and the
rules of a key's name, role and apps."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.domain.secrecy import Unlisted
from ledger.errors import FailedPrecondition, InvalidArgument
from ledger.ids import aggregate_id, check_app_name

KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MAX_KEY_APPS = 100


class Role(StrEnum):
    """The four kinds of deploy key; what each may do is :mod:`ledger.policy`'s."""

    ADMIN = "admin"
    DEPLOYER = "deployer"
    AUDITOR = "auditor"
    READER = "reader"

    @property
    def every_app(self) -> bool:
        """Keys of this role act on every app; the others on the apps named on the key."""
        return self in (Role.ADMIN, Role.AUDITOR)


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
    if role.every_app:
        if apps:
            raise InvalidArgument(f"{role} keys act on every app: give no apps")
        return ()
    if not apps:
        raise InvalidArgument(f"a {role} key needs at least one app")
    if len(apps) > MAX_KEY_APPS:
        raise InvalidArgument(f"at most {MAX_KEY_APPS} apps per key")
    return tuple(sorted({check_app_name(app) for app in apps}))


class Key(Aggregate):
    """A deploy key: who a request acts as, and what it may do.

    The log keeps the key's id, name, role, apps and the SHA-256 of its token, never the
    token itself (it is shown once, to whoever created the key). Keys are never deleted:
    a revoked key stays in the log with who revoked it, so every event it recorded keeps
    a known author. Revocation cannot be undone; create a new key instead.
    """

    TOPIC = "ledger:Key"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:KeyCreated"
        key_id: str
        name: str
        role: str
        apps: list[str]
        token_hash: Unlisted

    class Revoked(LedgerEvent):
        TOPIC = "ledger:KeyRevoked"
        key_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.revoked = True

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        key_id: str,
        name: str,
        role: str,
        apps: list[str],
        token_hash: str,
    ) -> None:
        self.key_id = key_id
        self.name = name
        self.role = role
        self.apps = list(apps)
        self.token_hash = token_hash
        self.revoked = False

    @staticmethod
    def create_id(key_id: str, **_: Any) -> Any:
        return aggregate_id("key", key_id)

    @classmethod
    def create(
        cls, meta: Meta, *, key_id: str, name: str, role: str, apps: list[str], token_hash: str
    ) -> Key:
        return cls(
            app="",
            actor=meta.actor,
            request_id=meta.request_id,
            key_id=key_id,
            name=name,
            role=role,
            apps=apps,
            token_hash=token_hash,
        )

    def revoke(self, meta: Meta) -> None:
        if self.revoked:
            raise FailedPrecondition(f"key {self.key_id} is revoked already")
        self.trigger_event(
            self.Revoked, app="", actor=meta.actor, request_id=meta.request_id, key_id=self.key_id
        )
