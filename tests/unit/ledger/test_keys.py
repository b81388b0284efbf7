"""Deploy keys: the rules of a key's role and apps (ledger/domain/key.py) and the key use
cases (ledger/keys.py)."""

from __future__ import annotations

import pytest

from ledger.application import LedgerApplication
from ledger.commands import CreateKey, RevokeKey
from ledger.domain import Key, Meta
from ledger.domain.key import Role, check_key_apps
from ledger.errors import FailedPrecondition, InvalidArgument
from ledger.keys import KeyService, token_hash


def test_deployer_and_reader_keys_need_apps_and_the_others_take_none() -> None:
    assert check_key_apps(Role.DEPLOYER, ("web", "shop", "web")) == ("shop", "web")
    with pytest.raises(InvalidArgument):
        check_key_apps(Role.READER, ())
    with pytest.raises(InvalidArgument):
        check_key_apps(Role.AUDITOR, ("shop",))


class NoOtherAdmins:
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def active_admin_ids(self) -> list[str]:
        return self.ids


def test_a_created_key_records_its_token_hash_never_the_token(ledger: LedgerApplication) -> None:
    keys = KeyService(ledger, NoOtherAdmins([]))

    created = keys.create_key(CreateKey("ci", "deployer", ("shop",)), Meta(actor="root (K1)"))

    key = keys.key(created.outcome.key_id)
    assert created.token.startswith("dl_") and key.token_hash == token_hash(created.token)
    stored = [vars(event) for event in ledger.events.get(Key.create_id(key.key_id))]
    assert created.token not in repr(stored)


def test_a_retried_create_key_returns_the_same_key_without_its_token(
    ledger: LedgerApplication,
) -> None:
    keys = KeyService(ledger, NoOtherAdmins([]))
    meta = Meta(actor="root (K1)", request_id="create-ci")

    first = keys.create_key(CreateKey("ci", "reader", ("shop",)), meta)
    again = keys.create_key(CreateKey("ci", "reader", ("shop",)), meta)

    assert again.outcome.key_id == first.outcome.key_id
    assert first.token and again.token == ""


def test_the_first_admin_key_is_created_once(ledger: LedgerApplication) -> None:
    keys = KeyService(ledger, NoOtherAdmins([]))

    first = keys.create_first_admin_key()

    assert first is not None and keys.key(first.outcome.key_id).role == "admin"
    assert keys.create_first_admin_key() is None


def test_the_last_admin_key_cannot_be_revoked(ledger: LedgerApplication) -> None:
    first = KeyService(ledger, NoOtherAdmins([])).create_first_admin_key()
    assert first is not None
    admin_id = first.outcome.key_id
    keys = KeyService(ledger, NoOtherAdmins([admin_id]))

    with pytest.raises(FailedPrecondition, match="last admin key"):
        keys.revoke_key(RevokeKey(admin_id), Meta(actor="root"))
    assert not keys.key(admin_id).revoked
