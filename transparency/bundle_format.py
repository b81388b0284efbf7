"""The files of an offline audit bundle, and how they are written and read.

A bundle is a directory::

    events.jsonl       one JSON object per line, in position order:
                       {"position": 1, "originator_id": "...", "originator_version": 1,
                        "topic": "...", "state": "<base64>", "record": {...}}
    checkpoints/       signed checkpoints (transparency.checkpoint text), one per file
                       0001.txt, 0002.txt, ... oldest first; the newest is the one the
                       export was made against
    proofs.jsonl       {"index": <leaf index = position - 1>, "size": <newest checkpoint
                        size>, "proof": ["<base64 hash>", ...]} for every event
    consistency.jsonl  {"old_size": m, "new_size": n, "proof": [...]} between successive
                       checkpoints
    linked-checkpoints/  optional: checkpoints of the log this one was upgraded from
                       (leaf format 1, another origin), 0001.txt, ...; each must be a
                       prefix of the log that the bundle's link event signs
                       (:mod:`transparency.link`)

``record`` is the event's audit record (who did what: type, app, actor, time, request id,
data), signed in the leaf (format version 2, :mod:`transparency.leaf_v2`): the readable
fields ARE the signed ones, and a line with any other member is refused. A line without
``record`` is a version 1 leaf (:mod:`transparency.hashing`, a bundle of a log signed
before version 2): its other members are unsigned extras for people, ignored by
verification. An object with a repeated key is refused (readers disagree on which one
counts). Files are UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

from transparency.hashing import HASH_SIZE, event_leaf_hash
from transparency.leaf_v2 import event_leaf_v2_hash
from transparency.tree import MerkleTree

EVENTS_FILE: Final = "events.jsonl"
CHECKPOINTS_DIR: Final = "checkpoints"
PROOFS_FILE: Final = "proofs.jsonl"
CONSISTENCY_FILE: Final = "consistency.jsonl"
LINKED_DIR: Final = "linked-checkpoints"
_CORE: Final = ("position", "originator_id", "originator_version", "topic", "state")
_RECORD: Final = "record"


@dataclass(frozen=True)
class BundleEvent:
    """One stored event as exported: the five stored fields and its signed audit
    ``record`` (leaf format 2), or, without a record, unsigned ``extra`` ones (format 1)."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    extra: Mapping[str, Any] = field(default_factory=dict)
    record: Mapping[str, Any] | None = None

    def leaf_hash(self) -> bytes:
        """The event's tree leaf: format 2 with a record, else format 1."""
        if self.record is not None:
            return event_leaf_v2_hash(
                self.position,
                self.originator_id,
                self.originator_version,
                self.topic,
                self.state,
                self.record,
            )
        return self.leaf_hash_v1()

    def leaf_hash_v1(self) -> bytes:
        """The event's leaf in format 1 (:mod:`transparency.hashing`): what a log signed
        before format 2 has, and what a link to it (``LogUpgraded``) is recomputed from."""
        return event_leaf_hash(
            self.position, self.originator_id, self.originator_version, self.topic, self.state
        )

    def to_json(self) -> dict[str, Any]:
        if clash := set(self.extra) & {*_CORE, _RECORD}:
            raise ValueError(f"extra fields may not override {sorted(clash)}")
        if self.record is not None and self.extra:
            raise ValueError("an event with a signed record has no unsigned extras")
        state = base64.b64encode(self.state).decode("ascii")
        core = (self.position, self.originator_id, self.originator_version, self.topic, state)
        signed = {} if self.record is None else {_RECORD: dict(self.record)}
        return dict(zip(_CORE, core, strict=True)) | signed | dict(self.extra)

    @classmethod
    def from_json(cls, obj: Any) -> BundleEvent:
        """Parse one ``events.jsonl`` object; ``ValueError`` says what is wrong."""
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        if _int(obj, "position") < 1:
            raise ValueError("'position' must be at least 1")
        record = obj.get(_RECORD)
        if _RECORD in obj:
            if not isinstance(record, dict):
                raise ValueError("'record' must be a JSON object")
            if unsigned := sorted(set(obj) - {*_CORE, _RECORD}):
                raise ValueError(f"unsigned member(s) beside the signed record: {unsigned}")
        return cls(
            position=_int(obj, "position"),
            originator_id=_str(obj, "originator_id"),
            originator_version=_int(obj, "originator_version"),
            topic=_str(obj, "topic"),
            state=_b64(_str(obj, "state"), "state"),
            extra={k: v for k, v in obj.items() if k not in {*_CORE, _RECORD}},
            record=record,
        )


@dataclass(frozen=True)
class InclusionProof:
    """PATH(index, D[size]): leaf ``index`` (log position ``index + 1``) in the tree of size."""

    index: int
    size: int
    hashes: tuple[bytes, ...]


@dataclass(frozen=True)
class ConsistencyProof:
    """PROOF(old_size, D[new_size]) between two checkpoints."""

    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]


def inclusion_proofs(tree: MerkleTree, size: int, indices: Iterable[int]) -> list[InclusionProof]:
    """Inclusion proofs of ``indices`` against the tree of ``size``, ready to bundle."""
    return [InclusionProof(i, size, tuple(tree.inclusion_proof(i, size))) for i in indices]


def consistency_proofs(tree: MerkleTree, sizes: Sequence[int]) -> list[ConsistencyProof]:
    """Consistency proofs between each pair of successive ``sizes`` (ascending)."""
    return [ConsistencyProof(a, b, tuple(tree.consistency_proof(a, b))) for a, b in pairwise(sizes)]


def write_bundle(
    path: Path | str,
    events: Iterable[BundleEvent],
    checkpoints: Sequence[str],
    proofs: Iterable[InclusionProof],
    consistency: Iterable[ConsistencyProof],
    linked: Sequence[str] = (),
) -> None:
    """Write a bundle into ``path``, which must not exist or be an empty directory.

    ``checkpoints`` are signed checkpoint texts exactly as the log signed them, oldest
    first. Nothing is verified here: the reader trusts only what it can verify.
    """
    root = Path(path)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty")
    (root / CHECKPOINTS_DIR).mkdir(parents=True)
    for number, text in enumerate(checkpoints, start=1):
        (root / CHECKPOINTS_DIR / f"{number:04d}.txt").write_text(text, "utf-8", newline="\n")
    if linked:
        (root / LINKED_DIR).mkdir()
    for number, text in enumerate(linked, start=1):
        (root / LINKED_DIR / f"{number:04d}.txt").write_text(text, "utf-8", newline="\n")
    _write_jsonl(root / EVENTS_FILE, (e.to_json() for e in events))
    _write_jsonl(
        root / PROOFS_FILE,
        ({"index": p.index, "size": p.size, "proof": _b64_list(p.hashes)} for p in proofs),
    )
    _write_jsonl(
        root / CONSISTENCY_FILE,
        (
            {"old_size": c.old_size, "new_size": c.new_size, "proof": _b64_list(c.hashes)}
            for c in consistency
        ),
    )


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) of each non-empty line; a bad line yields its error."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line, object_pairs_hook=_unique_keys)
            except ValueError as exc:
                yield number, ValueError(f"not JSON ({exc})")
            except RecursionError:
                yield number, ValueError("not JSON this reader accepts (nested too deeply)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"key {key!r} is repeated")
        obj[key] = value
    return obj


def parse_hashes(obj: Any, key: str) -> tuple[bytes, ...]:
    """A list of base64 hashes in ``obj[key]``; ``ValueError`` if anything is off."""
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key!r} must be a list of base64 strings")
    hashes = tuple(_b64(v, key) for v in value)
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ValueError(f"{key!r} holds a hash that is not {HASH_SIZE} bytes")
    return hashes


def parse_int(obj: Any, key: str) -> int:
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return _int(obj, key)


def _int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if type(value) is not int or value < 0:
        raise ValueError(f"{key!r} must be a non-negative integer")
    return value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


def _b64(text: str, what: str) -> bytes:
    try:  # strict: standard alphabet, correct padding, nothing else (RFC 4648 §4)
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what!r} is not valid base64") from None


def _b64_list(hashes: Iterable[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in hashes]


def _write_jsonl(path: Path, objects: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for obj in objects:
            out.write(json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")) + "\n")
