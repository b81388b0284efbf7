"""The link from a log signed with leaf format 1 to the same log signed with format 2.

A ledger whose log was signed with format 1 leaves (:mod:`transparency.hashing`) keeps
its events when it moves to format 2 (:mod:`transparency.leaf_v2`), but its tree is
rebuilt with the new leaves: every root changes. So that a monitor never sees one origin
with two roots for one size, the new tree is signed under a new origin, and the server
appends one **link** event before serving: its audit record has type ``LogUpgraded`` and
``data``::

    {"leaf_format": 2, "previous_origin": "<format 1 origin>",
     "previous_size": N, "previous_root": "<base64 of the format 1 root of N leaves>"}

where N is the number of events stored before the link (the format 1 tree's leaves are
those events, in log order, with tree positions 1..N: the same as in the new tree). The
link is itself a leaf of the new tree, so the new checkpoints sign it. A verifier that
holds the new log's first N events checks that their format 1 leaves have that root
(:func:`link_problem`); a format 1 checkpoint an auditor saved earlier (same key, origin
``previous_origin``, size m <= N) is then proven a prefix of the linked log by
recomputing the format 1 root of the first m events (:func:`linked_checkpoint_problem`).
A ledger started with format 2 records ``LeafFormatAdopted`` instead and has no link.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from transparency.bundle_format import LINKED_DIR, BundleEvent
from transparency.checkpoint import Checkpoint, format_timestamp, parse_and_verify
from transparency.errors import VerificationError
from transparency.hashing import EMPTY_ROOT, HASH_SIZE, node_hash
from transparency.keys import PublicKey
from transparency.report import Problem, Report

LINK_TYPE: Final = "LogUpgraded"


@dataclass(frozen=True)
class Link:
    """A verified ``LogUpgraded`` record: the older log it continues."""

    position: int
    previous_origin: str
    previous_size: int
    previous_root: bytes

    @classmethod
    def of(cls, record: Mapping[str, Any] | None) -> Link | None:
        """The link a record holds, None for a record of another type; ``ValueError``
        for a link record whose data is malformed."""
        if record is None or record.get("type") != LINK_TYPE:
            return None
        data = record.get("data")
        if not isinstance(data, dict):
            raise ValueError("the link's data is not an object")
        origin, size, root = (
            data.get(k) for k in ("previous_origin", "previous_size", "previous_root")
        )
        if not isinstance(origin, str) or type(size) is not int or size < 0:
            raise ValueError("the link's previous_origin or previous_size is malformed")
        try:
            digest = binascii.a2b_base64(root, strict_mode=True) if isinstance(root, str) else b""
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != HASH_SIZE:
            raise ValueError("the link's previous_root is not a base64 SHA-256 hash")
        position = record.get("position")
        if type(position) is not int or position < 1:
            raise ValueError("the link's position is malformed")
        return cls(position, origin, size, digest)

    def describe(self) -> str:
        root = base64.b64encode(self.previous_root).decode("ascii")
        return f"log {self.previous_origin} at size {self.previous_size} (root {root})"


class RootBuilder:
    """The RFC 9162 root of leaves appended one at a time, in O(log n) memory: the
    perfect subtrees of the tree's right edge, merged as they fill up."""

    def __init__(self) -> None:
        self.size = 0
        self._edge: list[tuple[int, bytes]] = []  # (leaves, hash), largest first

    def append(self, leaf_hash: bytes) -> None:
        leaves, value = 1, leaf_hash
        while self._edge and self._edge[-1][0] == leaves:
            _, left = self._edge.pop()
            leaves, value = leaves * 2, node_hash(left, value)
        self._edge.append((leaves, value))
        self.size += 1

    def root(self) -> bytes:
        if not self._edge:
            return EMPTY_ROOT
        value = self._edge[-1][1]
        for _, left in reversed(self._edge[:-1]):
            value = node_hash(left, value)
        return value


def link_problem(link: Link, v1_root: bytes | None) -> str | None:
    """What is wrong with ``link`` given the format 1 root of the first
    ``link.previous_size`` events (None: the bundle does not hold them all)."""
    if link.previous_size >= link.position:
        return f"the link at position {link.position} claims {link.previous_size} earlier events"
    if v1_root is None:
        return (
            f"the link at position {link.position} cannot be checked: the bundle lacks some "
            f"of the first {link.previous_size} events"
        )
    if v1_root != link.previous_root:
        return (
            f"the first {link.previous_size} events do not have the format 1 root that the "
            f"link at position {link.position} signs for {link.describe()}: the history "
            "before the upgrade was rewritten"
        )
    return None


def linked_checkpoint_problem(link: Link, saved: Checkpoint, v1_root: bytes | None) -> str | None:
    """What is wrong with ``saved`` (a format 1 checkpoint, signature verified) as a prefix
    of the linked log, given the format 1 root of its first ``saved.size`` events."""
    seen = format_timestamp(saved.timestamp)
    if saved.origin != link.previous_origin:
        return f"the checkpoint of {seen} is for log {saved.origin!r}, not {link.previous_origin!r}"
    if saved.size > link.previous_size:
        return (
            f"the checkpoint of size {saved.size} ({seen}) is larger than the linked "
            f"{link.describe()}: history was truncated at the upgrade"
        )
    if v1_root != saved.root:
        return (
            f"the log linked at position {link.position} does not extend the checkpoint of "
            f"size {saved.size} ({seen}): history was rewritten"
        )
    return None


def check_links(
    root: Path, events: Sequence[BundleEvent], authentic: set[int], key: PublicKey, report: Report
) -> None:
    """Check every link among the bundle's authentic events (their inclusion verified)
    against the bundle's events, and every format 1 checkpoint the bundle holds in
    :data:`LINKED_DIR` against the link: problems go to ``report``."""
    links: list[Link] = []
    for event in events:
        if event.position not in authentic:
            continue
        try:
            link = Link.of(event.record)
        except ValueError as exc:
            report.problems.append(
                Problem(f"event at position {event.position}: {exc}", event.position)
            )
            continue
        if link is not None:
            links.append(link)
    saved = _linked_checkpoints(root, key, report)
    if not links:
        if saved:
            report.problems.append(
                Problem(
                    f"{LINKED_DIR}/ holds checkpoints of an earlier log, but no event links to it"
                )
            )
        return
    roots = v1_roots(events, {link.previous_size for link in links} | {c.size for c in saved})
    for link in links:
        problem = link_problem(link, roots.get(link.previous_size))
        if problem is not None:
            report.problems.append(Problem(problem, link.position))
    report.links.extend(links)
    for checkpoint in saved:
        problem = linked_checkpoint_problem(links[0], checkpoint, roots.get(checkpoint.size))
        if problem is not None:
            report.problems.append(Problem(problem, links[0].position))
        else:
            report.linked_checkpoints += 1


def v1_roots(events: Sequence[BundleEvent], sizes: set[int]) -> dict[int, bytes]:
    """The format 1 root of the first n events for each n of ``sizes`` that the events
    (positions 1, 2, 3, ... without a gap) reach."""
    by_position = {event.position: event for event in events}
    builder = RootBuilder()
    roots = {0: builder.root()} if 0 in sizes else {}
    for position in range(1, max(sizes, default=0) + 1):
        event = by_position.get(position)
        if event is None:
            break
        builder.append(event.leaf_hash_v1())
        if position in sizes:
            roots[position] = builder.root()
    return roots


def _linked_checkpoints(root: Path, key: PublicKey, report: Report) -> list[Checkpoint]:
    verified = []
    for file in sorted((root / LINKED_DIR).glob("*.txt")):
        try:
            verified.append(parse_and_verify(file.read_text("utf-8"), key))
        except (VerificationError, UnicodeDecodeError) as exc:
            report.problems.append(Problem(f"{LINKED_DIR}/{file.name}: {exc}"))
    return verified
