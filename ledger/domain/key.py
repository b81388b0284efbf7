"""The Key aggregate: a deploy key, created with a role and apps, revoked for good."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.errors import FailedPrecondition
from ledger.ids import aggregate_id


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
        token_hash: str

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
