"""Offline verification of an audit bundle, and the live "is it still the same log?" check.

An auditor holds only the log's public key. :func:`verify_bundle` establishes, from a bundle
directory (format in :mod:`transparency.bundle_format`), that:

1. every checkpoint is signed by that key, and all are for one log;
2. each checkpoint is consistent with the previous one (RFC 9162 §2.1.4): the log only
   grew between them;
3. the events are exactly positions 1, 2, 3, ... in order, none missing or repeated;
4. each event's leaf hash is included at its index in the newest checkpoint's tree
   (RFC 9162 §2.1.3), so any edited, replaced, moved or invented event is named; in leaf
   format 2 the leaf includes the event's audit record (who did what), so an edited
   type, app, actor, time, request id or data is named too, and the record must agree
   with the signed event (its position, its topic);
6. a link to the log this one was upgraded from (leaf format 1) holds: the bundle's first
   events have the older root it signs, and each older checkpoint the bundle holds is a
   prefix of that log (:mod:`transparency.link`).
5. when the bundle holds every event up to the newest checkpoint's size, the tree over all
   of them (RFC 9162 §2.1.1) has exactly the signed root.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from transparency.bundle_format import (
    CHECKPOINTS_DIR,
    CONSISTENCY_FILE,
    EVENTS_FILE,
    PROOFS_FILE,
    BundleEvent,
    ConsistencyProof,
    InclusionProof,
    consistency_proofs,
    inclusion_proofs,
    parse_hashes,
    parse_int,
    read_jsonl,
    write_bundle,
)
from transparency.checkpoint import Checkpoint, format_timestamp, parse_and_verify
from transparency.errors import VerificationError
from transparency.keys import PublicKey
from transparency.leaf_v2 import record_problems
from transparency.link import check_links
from transparency.report import Problem, Report
from transparency.verify import root_from_leaves, verify_consistency, verify_inclusion

__all__ = [
    "BundleEvent",
    "ConsistencyProof",
    "InclusionProof",
    "Problem",
    "Report",
    "check_consistency",
    "consistency_proofs",
    "inclusion_proofs",
    "verify_bundle",
    "write_bundle",
]


def check_consistency(saved: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise :class:`VerificationError` unless ``new`` extends ``saved`` (RFC 9162 §2.1.4.2).

    For the live check: ``saved`` is a checkpoint the auditor verified earlier, ``new`` the
    server's current one (its signature already verified), ``proof`` the server's
    consistency proof between their sizes.
    """
    seen = format_timestamp(saved.timestamp)
    if new.origin != saved.origin:
        raise VerificationError(
            f"the server's checkpoint is for log {new.origin!r}, not {saved.origin!r} "
            f"whose checkpoint you saw on {seen}"
        )
    if new.size < saved.size:
        raise VerificationError(
            f"the server's log of size {new.size} is smaller than the checkpoint of size "
            f"{saved.size} you saw on {seen}: history was truncated or rewritten"
        )
    if not verify_consistency(saved.size, new.size, saved.root, new.root, proof):
        raise VerificationError(
            f"the server's log of size {new.size} is not an extension of the checkpoint of "
            f"size {saved.size} you saw on {seen}: history was rewritten or the proof is forged"
        )


def verify_bundle(
    path: Path | str, public_key: PublicKey, *, require_complete: bool = True
) -> Report:
    """Verify the bundle in ``path`` with nothing but ``public_key`` (see the module doc).

    With ``require_complete`` (the default) events missing at the end of the log, up to the
    newest checkpoint's size, are problems too; without it a prefix of the log verifies.
    """
    root = Path(path)
    report = Report()
    checkpoints = _verified_checkpoints(root, public_key, report)
    if checkpoints:
        report.checkpoint = checkpoints[-1]
        report.checkpoints_verified = len(checkpoints)
        _check_consistency_chain(root, checkpoints, report)
        events, authentic = _check_events(root, checkpoints[-1], require_complete, report)
        check_links(root, events, authentic, public_key, report)
    report.problems.sort(key=lambda p: (p.position is None, p.position or 0))
    return report


def _verified_checkpoints(root: Path, key: PublicKey, report: Report) -> list[Checkpoint]:
    files = sorted((root / CHECKPOINTS_DIR).glob("*.txt"))
    verified: list[Checkpoint] = []
    for file in files:
        try:
            verified.append(parse_and_verify(file.read_text("utf-8"), key))
        except (VerificationError, UnicodeDecodeError) as exc:
            report.problems.append(Problem(f"{CHECKPOINTS_DIR}/{file.name}: {exc}"))
    if not verified:
        report.problems.append(
            Problem(f"no checkpoint in the bundle is signed by {key.name}: nothing can be trusted")
        )
    if len({c.origin for c in verified}) > 1:
        origins = sorted({c.origin for c in verified})
        report.problems.append(Problem(f"the checkpoints are for different logs: {origins}"))
    return sorted(verified, key=lambda c: (c.size, c.timestamp))


def _check_consistency_chain(root: Path, checkpoints: list[Checkpoint], report: Report) -> None:
    proofs: dict[tuple[int, int], tuple[bytes, ...]] = {}
    for number, obj in _records(root / CONSISTENCY_FILE, report):
        try:
            sizes = (parse_int(obj, "old_size"), parse_int(obj, "new_size"))
            proofs[sizes] = parse_hashes(obj, "proof")
        except ValueError as exc:
            report.problems.append(Problem(f"{CONSISTENCY_FILE} line {number}: {exc}"))
    for old, new in pairwise(checkpoints):
        proof = () if old.size == new.size else proofs.get((old.size, new.size))
        if proof is None:
            message = f"no consistency proof from size {old.size} to size {new.size}"
        elif verify_consistency(old.size, new.size, old.root, new.root, proof):
            continue
        else:
            message = (
                f"the checkpoint of size {new.size} ({format_timestamp(new.timestamp)}) is not "
                f"an extension of the checkpoint of size {old.size} "
                f"({format_timestamp(old.timestamp)}): history was rewritten or the proof is "
                "forged"
            )
        report.problems.append(Problem(message))


def _check_events(
    root: Path, newest: Checkpoint, require_complete: bool, report: Report
) -> tuple[list[BundleEvent], set[int]]:
    """The bundle's events, and the positions of those whose inclusion verified."""
    events: list[BundleEvent] = []
    authentic: set[int] = set()
    unreadable: set[int] = set()  # positions of lines that could not be parsed
    for number, obj in _records(root / EVENTS_FILE, report):
        try:
            events.append(BundleEvent.from_json(obj))
        except ValueError as exc:
            position = obj.get("position") if isinstance(obj, dict) else None
            where = position if type(position) is int else None
            report.problems.append(Problem(f"{EVENTS_FILE} line {number}: {exc}", where))
            unreadable.add(where or 0)
    positions = [e.position for e in events]
    _check_positions(positions, newest.size if require_complete else 0, unreadable, report)
    proofs = _inclusion_proofs(root, newest, report)
    if proofs is None:
        return events, authentic
    leaves = [e.leaf_hash() for e in events]
    bad: list[int] = []
    disagreeing: list[Problem] = []  # after whether the event matches, the more telling
    for event, leaf in zip(events, leaves, strict=True):
        p = event.position
        proof = proofs.get(p - 1)
        if event.record is not None:
            for message in record_problems(p, event.topic, event.record):
                disagreeing.append(Problem(f"event at position {p}: {message}", p))
        if p > newest.size:
            message = f"event at position {p} is beyond the signed log of size {newest.size}"
            report.problems.append(Problem(message, p))
        elif proof is None:
            report.problems.append(Problem(f"no inclusion proof for position {p}", p))
        elif verify_inclusion(leaf, p - 1, newest.size, proof, newest.root):
            report.events_verified += 1
            authentic.add(p)
            if event.record is not None:
                report.records.append(event.record)
        else:
            bad.append(p)
    whole_log = positions == list(range(1, newest.size + 1))
    if whole_log:
        report.complete = root_from_leaves(leaves) == newest.root
        if not report.complete:
            message = (
                f"the tree over the bundle's {newest.size} events does not have the signed root"
            )
            report.problems.append(Problem(message))
    for p in bad:
        if report.complete:  # every event is authentic, so the proof is what was tampered with
            message = f"the inclusion proof for position {p} is forged or corrupt"
        else:
            message = f"event at position {p} does not match the signed log (edited, or replaced)"
        report.problems.append(Problem(message, p))
    report.problems.extend(disagreeing)
    return events, authentic


def _check_positions(
    positions: list[int], required: int, unreadable: set[int], report: Report
) -> None:
    """Positions must be 1..max(required, highest) once each, in ascending order (an
    unreadable line is already a problem: its position is not reported missing too)."""
    seen: dict[int, int] = {}
    for p in positions:
        seen[p] = seen.get(p, 0) + 1
    duplicates = sorted(p for p, count in seen.items() if count > 1)
    if duplicates:
        p = duplicates[0]
        more = f" ({len(duplicates)} positions repeated in all)" if len(duplicates) > 1 else ""
        report.problems.append(Problem(f"position {p} appears {seen[p]} times{more}", p))
    top = max([required, *positions])
    missing = [p for p in range(1, top + 1) if p not in seen and p not in unreadable]
    if missing:
        p = missing[0]
        more = f" ({len(missing)} positions missing in all)" if len(missing) > 1 else ""
        report.problems.append(Problem(f"position {p} is missing{more}", p))
    for line, (found, expected) in enumerate(zip(positions, sorted(positions), strict=True), 1):
        if found != expected:
            message = f"events are out of order: line {line} holds position {found}, not {expected}"
            report.problems.append(Problem(message, expected))
            break


def _inclusion_proofs(
    root: Path, newest: Checkpoint, report: Report
) -> dict[int, tuple[bytes, ...]] | None:
    if not (root / PROOFS_FILE).is_file():
        report.problems.append(Problem(f"the bundle has no {PROOFS_FILE}: no event is verified"))
        return None
    proofs: dict[int, tuple[bytes, ...]] = {}
    other_sizes: set[int] = set()
    for number, obj in _records(root / PROOFS_FILE, report):
        try:
            index, size = parse_int(obj, "index"), parse_int(obj, "size")
            hashes = parse_hashes(obj, "proof")
        except ValueError as exc:
            report.problems.append(Problem(f"{PROOFS_FILE} line {number}: {exc}"))
            continue
        if size == newest.size:
            proofs[index] = hashes
        else:
            other_sizes.add(size)
    if other_sizes:
        report.problems.append(
            Problem(
                f"{PROOFS_FILE} holds proofs against log size(s) {sorted(other_sizes)}, but the "
                f"newest checkpoint that verifies has size {newest.size} (a checkpoint is "
                "missing or not signed by this key): events cannot be verified"
            )
        )
        return None
    return proofs


def _records(path: Path, report: Report) -> list[tuple[int, Any]]:
    """Parsed lines of a JSONL file; unparsable lines and a missing file become problems."""
    if not path.is_file():
        if path.name != CONSISTENCY_FILE:
            report.problems.append(Problem(f"the bundle has no {path.name}"))
        return []
    records: list[tuple[int, Any]] = []
    for number, obj in read_jsonl(path):
        if isinstance(obj, ValueError):
            report.problems.append(Problem(f"{path.name} line {number}: {obj}"))
        else:
            records.append((number, obj))
    return records
