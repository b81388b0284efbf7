"""Roles and what they allow (ledger/access.py), and the key use cases (ledger/keys.py)."""

from __future__ import annotations

import pytest

from ledger.access import Permission, Principal, Role, check_key_apps
from ledger.application import LedgerApplication
from ledger.commands import CreateKey, RevokeKey
from ledger.domain import Key, Meta
from ledger.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from ledger.keys import KeyService, token_hash

ADMIN = Principal("K0000000001", "root", Role.ADMIN)
DEPLOYER = Principal("K0000000002", "ci", Role.DEPLOYER, frozenset({"shop"}))
AUDITOR = Principal("K0000000003", "audit", Role.AUDITOR)
READER = Principal("K0000000004", "dash", Role.READER, frozenset({"shop"}))


def test_an_admin_may_do_everything_on_every_app() -> None:
    assert all(ADMIN.may(permission, "any") for permission in Permission)
    assert ADMIN.may(Permission.CREATE_APP) and ADMIN.may(Permission.MANAGE_KEYS)


def test_a_deployer_builds_deploys_and_changes_env_on_its_apps_only() -> None:
    for permission in (Permission.BUILD, Permission.DEPLOY, Permission.CHANGE_ENV):
        assert DEPLOYER.may(permission, "shop")
        assert not DEPLOYER.may(permission, "other")
    assert DEPLOYER.may(Permission.REVEAL_ENV, "shop")


def test_a_deployer_may_not_create_apps_nor_manage_keys() -> None:
    assert not DEPLOYER.may(Permission.CREATE_APP)
    assert not DEPLOYER.may(Permission.MANAGE_KEYS)


def test_an_auditor_reads_every_app_and_its_log_but_never_env_values_nor_changes() -> None:
    assert AUDITOR.may(Permission.READ, "any") and AUDITOR.may(Permission.READ_LOG)
    assert AUDITOR.may(Permission.AUDIT)
    assert not AUDITOR.may(Permission.REVEAL_ENV, "any")
    assert not AUDITOR.may(Permission.DEPLOY, "any")


def test_a_reader_reads_its_apps_only_and_never_env_values() -> None:
    assert READER.may(Permission.READ, "shop") and READER.may(Permission.READ_LOG, "shop")
    assert not READER.may(Permission.READ, "other")
    assert not READER.may(Permission.READ_LOG)  # the whole log: every app
    assert not READER.may(Permission.REVEAL_ENV, "shop")


def test_a_refusal_names_the_key_its_role_and_what_it_may_not_do() -> None:
    with pytest.raises(PermissionDenied) as refused:
        DEPLOYER.check(Permission.DEPLOY, "other")

    assert (
        str(refused.value)
        == "permission denied: key ci (deployer for shop) may not deploy app other"
    )


def test_an_app_limited_key_reading_the_whole_log_is_told_to_name_one_of_its_apps() -> None:
    with pytest.raises(PermissionDenied, match=r"name one of its apps \(-a APP\)"):
        READER.check(Permission.READ_LOG, "")


def test_the_actor_of_a_key_is_its_name_and_id() -> None:
    assert DEPLOYER.actor == "ci (K0000000002)"


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
