"""The math of a tamper-evident log: RFC 9162 Merkle trees, proofs and signed checkpoints.

A pure library shared by the server (which keeps the tree and signs checkpoints) and the
CLI (which verifies proofs and audit bundles offline with only the log's public key). It
depends on nothing else in the project and on no I/O beyond reading and writing bundles.

- :mod:`~transparency.hashing`: RFC 6962 hashes and the canonical leaf of a stored event
  (leaf format 1)
- :mod:`~transparency.leaf_v2`: leaf format 2, the stored event and its signed audit record
- :mod:`~transparency.tree`: the tree over persisted complete subtrees; roots and proofs
- :mod:`~transparency.verify`: independent RFC 9162 proof verification
- :mod:`~transparency.keys`, :mod:`~transparency.note`, :mod:`~transparency.checkpoint`:
  Ed25519 keys, C2SP signed notes and signed checkpoints
- :mod:`~transparency.bundle`: offline audit bundles and the live consistency check
"""

from transparency.bundle import (
    BundleEvent,
    ConsistencyProof,
    InclusionProof,
    check_consistency,
    consistency_proofs,
    inclusion_proofs,
    verify_bundle,
    write_bundle,
)
from transparency.checkpoint import Checkpoint, parse_and_verify, sign
from transparency.errors import VerificationError
from transparency.hashing import EMPTY_ROOT, event_leaf, event_leaf_hash, leaf_hash, node_hash
from transparency.keys import PrivateKey, PublicKey, generate_key
from transparency.leaf_v2 import canonical, event_leaf_v2, event_leaf_v2_hash
from transparency.note import open_note, sign_note
from transparency.report import Problem, Report
from transparency.tree import MemoryNodeStore, MerkleTree, Node, NodeStore, new_nodes
from transparency.verify import root_from_leaves, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "BundleEvent",
    "Checkpoint",
    "ConsistencyProof",
    "InclusionProof",
    "MemoryNodeStore",
    "MerkleTree",
    "Node",
    "NodeStore",
    "PrivateKey",
    "Problem",
    "PublicKey",
    "Report",
    "VerificationError",
    "canonical",
    "check_consistency",
    "consistency_proofs",
    "event_leaf",
    "event_leaf_hash",
    "event_leaf_v2",
    "event_leaf_v2_hash",
    "generate_key",
    "inclusion_proofs",
    "leaf_hash",
    "new_nodes",
    "node_hash",
    "open_note",
    "parse_and_verify",
    "root_from_leaves",
    "sign",
    "sign_note",
    "verify_bundle",
    "verify_consistency",
    "verify_inclusion",
    "write_bundle",
]
