"""Deploy keys with several ``ledgerd`` processes serving one PostgreSQL ledger."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import KeysStub, LedgerStub
from tests.integration.server.helpers import all_events
from tests.support.auth import bearer, create_key, token_file
from tests.support.ledgerd import LedgerdProcess

pytestmark = pytest.mark.postgres

SHARED_CIPHER_KEY = "c2hhcmVkLWtleS1vZi10aGUtdGVzdC1sZWRnZXIhISE="  # processes of one ledger
REVOCATION_DEADLINE = 2.0
StartLedgerd = Callable[..., LedgerdProcess]


def start(
    ledgerd_process: StartLedgerd, database_url: str, tmp_path: Path, count: int
) -> list[LedgerdProcess]:
    """``count`` ledgerd on ``database_url`` (own data dirs), started at the same moment."""
    barrier = threading.Barrier(count)

    def one(n: int) -> LedgerdProcess:
        env = {
            "LEDGER_DATABASE_URL": database_url,
            "LEDGER_DATA": str(tmp_path / f"ledgerd{n}"),
            "LEDGER_CIPHER_KEY": SHARED_CIPHER_KEY,
        }
        barrier.wait()
        return ledgerd_process(env)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_ledgerds_started_together_on_a_new_ledger_create_one_admin_key_and_one_token_file(
    ledgerd_process: StartLedgerd, postgres_url: str, tmp_path: Path
) -> None:
    servers = start(ledgerd_process, postgres_url, tmp_path, 3)

    files = [
        token_file(server.data_dir) for server in servers if token_file(server.data_dir).exists()
    ]
    assert len(files) == 1
    for server in servers:
        with server.channel() as channel:
            assert KeysStub(channel).WhoAmI(pb.WhoAmIRequest()).name == "admin"
    with servers[0].channel() as channel:
        created = [e for e in all_events(LedgerStub(channel)) if e.type == "KeyCreated"]
    assert len(created) == 1


def test_a_key_revoked_through_one_ledgerd_is_refused_by_the_other_within_two_seconds(
    ledgerd_process: StartLedgerd, postgres_url: str, tmp_path: Path
) -> None:
    first, second = start(ledgerd_process, postgres_url, tmp_path, 2)
    with first.channel() as admin, second.channel() as other:
        key, token = create_key(admin, "ci", "deployer", "web")
        whoami = KeysStub(other).WhoAmI
        assert whoami(pb.WhoAmIRequest(), metadata=bearer(token)).id == key.id  # cached there

        KeysStub(admin).RevokeKey(pb.RevokeKeyRequest(id=key.id))
        revoked = time.monotonic()
        while True:
            try:
                whoami(pb.WhoAmIRequest(), metadata=bearer(token))
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAUTHENTICATED
                break
            assert time.monotonic() - revoked < REVOCATION_DEADLINE, "still accepted"
            time.sleep(0.02)
