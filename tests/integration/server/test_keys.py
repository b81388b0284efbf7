"""Deploy keys through real gRPC: the first admin key, the Keys service, what is never shown."""

from __future__ import annotations

import dataclasses
import stat

import grpc

from ledger.keys import token_hash
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from tests.integration.server.helpers import all_events, new_request_id, rpc_error
from tests.support.auth import bearer, create_key, token_file
from tests.support.ledgerd import InProcessLedgerd


def test_the_first_start_writes_the_admin_token_owner_only_and_a_second_start_leaves_it(
    ledgerd: InProcessLedgerd,
) -> None:
    path = token_file(ledgerd.settings.data_dir)
    first = path.stat()
    token = path.read_text()
    assert stat.S_IMODE(first.st_mode) == 0o600
    assert token.startswith("dl_")

    ledgerd.stop()
    restarted = dataclasses.replace(ledgerd.settings, listen="127.0.0.1:0")
    with InProcessLedgerd(restarted) as again, again.channel() as channel:
        whoami = KeysStub(channel).WhoAmI(pb.WhoAmIRequest())
        created = [e for e in all_events(LedgerStub(channel)) if e.type == "KeyCreated"]

    assert (path.read_text(), path.stat().st_mtime_ns) == (token, first.st_mtime_ns)
    assert (whoami.name, whoami.role, whoami.actor) == ("admin", "admin", "ledgerd")
    assert len(created) == 1


def test_list_keys_and_the_log_never_show_a_token_or_its_hash(
    ledgerd_client: LedgerStub, ledgerd_channel: grpc.Channel
) -> None:
    key, token = create_key(ledgerd_channel, "ci", "deployer", "web")
    keys = KeysStub(ledgerd_channel)
    keys.RevokeKey(pb.RevokeKeyRequest(id=key.id))

    listed = keys.ListKeys(pb.ListKeysRequest(include_revoked=True))
    shown = [
        listed.SerializeToString(),
        keys.WhoAmI(pb.WhoAmIRequest()).SerializeToString(),
        *(event.SerializeToString() for event in all_events(ledgerd_client)),
    ]

    assert [k.name for k in listed.keys] == ["admin", "ci"]
    secrets = [token, token_hash(token), token_hash(token)[:16]]
    assert not [secret for secret in secrets for text in shown if secret.encode() in text]


def test_revoked_keys_are_listed_only_when_asked_for(ledgerd_channel: grpc.Channel) -> None:
    key, _ = create_key(ledgerd_channel, "ci", "reader", "web")
    keys = KeysStub(ledgerd_channel)
    revoked = keys.RevokeKey(pb.RevokeKeyRequest(id=key.id))

    assert revoked.HasField("revoked_at") and revoked.revoked_by.startswith("admin (K")
    assert [k.name for k in keys.ListKeys(pb.ListKeysRequest()).keys] == ["admin"]
    assert len(keys.ListKeys(pb.ListKeysRequest(include_revoked=True)).keys) == 2


def test_a_create_key_retried_with_its_request_id_returns_the_key_but_not_the_token_again(
    ledgerd_channel: grpc.Channel,
) -> None:
    keys = KeysStub(ledgerd_channel)
    request = pb.CreateKeyRequest(
        name="ci", role="deployer", apps=["web"], request_id=new_request_id()
    )

    first = keys.CreateKey(request)
    again = keys.CreateKey(request)

    assert again.key == first.key
    assert first.token and again.token == ""


def test_only_an_admin_key_manages_keys_and_the_last_one_cannot_be_revoked(
    ledgerd_channel: grpc.Channel,
) -> None:
    keys = KeysStub(ledgerd_channel)
    _, audit = create_key(ledgerd_channel, "audit", "auditor")
    admin = keys.WhoAmI(pb.WhoAmIRequest())

    listing = rpc_error(lambda: keys.ListKeys(pb.ListKeysRequest(), metadata=bearer(audit)))
    last = rpc_error(lambda: keys.RevokeKey(pb.RevokeKeyRequest(id=admin.id)))

    assert listing.code() == grpc.StatusCode.PERMISSION_DENIED
    assert last.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert keys.WhoAmI(pb.WhoAmIRequest()).id == admin.id


def test_a_key_is_refused_without_the_apps_its_role_needs(ledgerd_channel: grpc.Channel) -> None:
    keys = KeysStub(ledgerd_channel)

    error = rpc_error(lambda: keys.CreateKey(pb.CreateKeyRequest(name="ci", role="deployer")))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "a deployer key needs at least one app"
