"""Use cases of deploy keys: create (token shown once), revoke, and the first admin key.

A token is ``dl_`` plus 43 URL-safe characters (256 random bits). The ledger records only
its SHA-256 (see :func:`token_hash`) next to the key's id, name, role and apps; the id is
public (it names the key in every event it records) and is not part of the token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.application import AggregateNotFoundError

from ledger.application import Decision, LedgerApplication
from ledger.commands import CreateKey, Outcome, RevokeKey
from ledger.domain import Key, Meta, RequestRecord
from ledger.domain.key import Role, check_key_apps, check_key_name, parse_role
from ledger.errors import FailedPrecondition, InvalidArgument, NotFound
from ledger.ids import ALPHABET, ID_LENGTH, new_id

TOKEN_PREFIX = "dl_"
TOKEN_BYTES = 32
KEY_KIND = "K"
KEY_ID = re.compile(rf"^{KEY_KIND}[{ALPHABET}]{{{ID_LENGTH}}}$")
FIRST_ADMIN_NAME = "admin"
# The request id of the first admin key: its request record makes "was it ever created?"
# one lookup, and lets only one of several ledgerd starting together create it.
FIRST_ADMIN_REQUEST = "ledgerd:first-admin-key"
SYSTEM = Meta(actor="ledgerd", request_id=FIRST_ADMIN_REQUEST)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token: what the ledger stores and looks keys up by.

    A fast unsalted hash is enough here, unlike for passwords: a token is 256 random bits,
    so no dictionary or brute-force search can get back from the hash to the token, and
    a salt only defends against tables precomputed for likely inputs, of which there are
    none. A slow hash (bcrypt, scrypt) would only add its cost to every request, since
    each one is authenticated. The hash can even be published (it is in the log, and thus
    in audit bundles) without letting anyone sign in.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and 0 < len(token) <= 200


def check_key_id(key_id: str) -> str:
    if not KEY_ID.fullmatch(key_id):
        raise InvalidArgument(f"{key_id[:40]!r} is not a key id")
    return key_id


class KeyDirectory(Protocol):
    """What the use cases read about keys besides the aggregates (the read model)."""

    def active_admin_ids(self) -> Sequence[str]:
        """Ids of the admin keys not revoked."""


@dataclass(frozen=True)
class CreatedKey:
    """The outcome of creating a key, and its token: ``""`` when the request was a retry
    answered from its request record (the token was shown to the first attempt only)."""

    outcome: Outcome
    token: str


class KeyService:
    """Create and revoke deploy keys, each change an event recorded with its actor."""

    def __init__(self, ledger: LedgerApplication, directory: KeyDirectory) -> None:
        self.ledger = ledger
        self.directory = directory

    def create_key(self, command: CreateKey, meta: Meta) -> CreatedKey:
        check_key_name(command.name)
        role = parse_role(command.role)
        apps = check_key_apps(role, command.apps)
        key_id = new_id(KEY_KIND)
        token = new_token()

        def handle() -> Decision:
            key = Key.create(
                meta,
                key_id=key_id,
                name=command.name,
                role=role.value,
                apps=list(apps),
                token_hash=token_hash(token),
            )
            return Decision(Outcome(app="", key_id=key_id), (key,))

        outcome = self.ledger.execute("CreateKey", command, meta, handle)
        return CreatedKey(outcome, token if outcome.key_id == key_id else "")

    def revoke_key(self, command: RevokeKey, meta: Meta) -> Outcome:
        """Revoke a key for good. The last admin key cannot be revoked: nobody could
        manage keys any more (create another admin key first)."""
        check_key_id(command.key_id)

        def handle() -> Decision:
            key = self.key(command.key_id)
            if key.role == Role.ADMIN and not key.revoked:
                others = [k for k in self.directory.active_admin_ids() if k != key.key_id]
                if not others:
                    raise FailedPrecondition(
                        f"key {key.key_id} is the last admin key: create another one first"
                    )
            key.revoke(meta)
            return Decision(Outcome(app="", key_id=key.key_id), (key,))

        return self.ledger.execute("RevokeKey", command, meta, handle)

    def key(self, key_id: str) -> Key:
        try:
            found: object = self.ledger.repository.get(Key.create_id(key_id))
        except AggregateNotFoundError:
            raise NotFound(f"key {key_id} not found") from None
        if not isinstance(found, Key):
            raise NotFound(f"key {key_id} not found")
        return found

    def create_first_admin_key(self) -> CreatedKey | None:
        """On the first start of a ledger: an admin key named ``admin``.

        None when it was created before (by an earlier start, or by another ``ledgerd``
        starting at the same moment on the same database: only one save of its request
        record can succeed, the other finds it and creates nothing).
        """
        if self.ledger.exists(RequestRecord.create_id(request_id=FIRST_ADMIN_REQUEST)):
            return None
        created = self.create_key(CreateKey(name=FIRST_ADMIN_NAME, role=Role.ADMIN.value), SYSTEM)
        return created if created.token else None
