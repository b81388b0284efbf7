"""``ledgerctl audit verify --server`` against a fake server that lies about history.

The fake holds the log's real signing key (the worst case: a compromised server), so
every checkpoint it sends verifies; only the consistency with the checkpoint the client
saved earlier can give it away.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from cli.audit_files import SavedCheckpoints
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1 import ledger_pb2_grpc
from tests.integration.cli.runner import Ledgerctl, Result
from transparency import (
    Checkpoint,
    MemoryNodeStore,
    MerkleTree,
    PrivateKey,
    event_leaf_hash,
    generate_key,
    sign,
)

KEY = generate_key("deploy-ledger")
ORIGIN = "deploy-ledger"


def history(size: int, rewritten_at: int = 0) -> MerkleTree:
    """A tree of ``size`` events; with ``rewritten_at``, that position's event differs."""
    tree = MerkleTree(MemoryNodeStore())
    for position in range(1, size + 1):
        state = b"rewritten" if position == rewritten_at else b"original"
        originator = f"00000000-0000-0000-0000-{position:012d}"
        tree.append([event_leaf_hash(position, originator, 1, "ledger:AppCreated", state)])
    return tree


def signed(tree: MerkleTree, size: int, key: PrivateKey = KEY) -> str:
    return sign(Checkpoint(ORIGIN, size, tree.root(size), datetime.now(UTC)), key)


class LyingLedger(ledger_pb2_grpc.LedgerServicer):
    """Serves ``tree`` at ``size`` with a checkpoint signed by ``key``; ``corrupt`` flips a
    byte of every consistency proof."""

    def __init__(
        self, tree: MerkleTree, size: int, key: PrivateKey = KEY, corrupt: bool = False
    ) -> None:
        self.tree, self.size, self.key, self.corrupt = tree, size, key, corrupt

    def GetCheckpoint(self, request: Any, context: Any) -> pb.SignedCheckpoint:
        text = signed(self.tree, self.size, self.key)
        return pb.SignedCheckpoint(text=text, origin=ORIGIN, size=self.size)

    def GetConsistencyProof(self, request: Any, context: Any) -> pb.GetConsistencyProofResponse:
        hashes = self.tree.consistency_proof(request.old_size, request.new_size)
        if self.corrupt and hashes:
            hashes[0] = bytes([hashes[0][0] ^ 1]) + hashes[0][1:]
        return pb.GetConsistencyProofResponse(
            old_size=request.old_size, new_size=request.new_size, hashes=hashes
        )


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[grpc.Server] = []

    def start(servicer: LyingLedger) -> str:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        ledger_pb2_grpc.add_LedgerServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        return f"127.0.0.1:{port}"

    yield start
    for server in servers:
        server.stop(None)


def check(address: str, state: Path, saved_text: str) -> Result:
    """Save ``saved_text`` as the client's last checkpoint of ``address``, then verify live."""
    SavedCheckpoints(state).save(address, saved_text)
    ledgerctl = Ledgerctl(address)
    return ledgerctl(
        "audit", "verify", "--server", "--state-dir", str(state),
        "--key", KEY.public_key().to_text(),
    )  # fmt: skip


def test_an_honest_extension_verifies_and_replaces_the_saved_checkpoint(
    serve: Any, tmp_path: Path
) -> None:
    honest = history(6)
    address = serve(LyingLedger(honest, 6))

    result = check(address, tmp_path, signed(honest, 4))

    assert result.code == 0, result.stderr
    assert "an extension of the checkpoint of size 4" in result.stdout
    assert "\n6\n" in (SavedCheckpoints(tmp_path).load(address) or "")


def test_a_rewritten_history_signed_with_the_right_key_is_reported_as_divergent(
    serve: Any, tmp_path: Path
) -> None:
    saved = signed(history(4), 4)
    address = serve(LyingLedger(history(6, rewritten_at=3), 6))

    result = check(address, tmp_path, saved)

    assert result.code == 1
    assert "the server's log of size 6 is not an extension of the checkpoint of size 4" in (
        result.stderr
    )
    assert "history was rewritten or the proof is forged" in result.stderr
    assert SavedCheckpoints(tmp_path).load(address) == saved  # the evidence is kept


def test_a_tampered_consistency_proof_is_reported_as_divergent(serve: Any, tmp_path: Path) -> None:
    honest = history(6)
    address = serve(LyingLedger(honest, 6, corrupt=True))

    result = check(address, tmp_path, signed(honest, 4))

    assert result.code == 1
    assert "is not an extension of the checkpoint of size 4" in result.stderr


def test_a_truncated_log_is_reported_as_smaller_than_the_saved_checkpoint(
    serve: Any, tmp_path: Path
) -> None:
    honest = history(6)
    address = serve(LyingLedger(honest, 3))

    result = check(address, tmp_path, signed(honest, 6))

    assert result.code == 1
    assert "the server's log of size 3 is smaller than the checkpoint of size 6" in result.stderr


def test_a_checkpoint_signed_by_another_key_does_not_verify(serve: Any, tmp_path: Path) -> None:
    honest = history(6)
    address = serve(LyingLedger(honest, 6, key=generate_key("deploy-ledger")))

    result = check(address, tmp_path, signed(honest, 4))

    assert result.code == 1
    assert "the server's checkpoint does not verify" in result.stderr
