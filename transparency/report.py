"""The verdict of an offline bundle verification, for people and for programs."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from transparency.checkpoint import Checkpoint, format_timestamp

if TYPE_CHECKING:
    from transparency.link import Link


@dataclass(frozen=True)
class Problem:
    """One thing that failed verification; ``position`` is the log position it concerns."""

    message: str
    position: int | None = None


@dataclass
class Report:
    """The outcome of :func:`verify_bundle`: OK with what was proven, or the problems."""

    checkpoint: Checkpoint | None = None
    checkpoints_verified: int = 0
    events_verified: int = 0
    complete: bool = False
    problems: list[Problem] = field(default_factory=list)
    records: list[Mapping[str, Any]] = field(default_factory=list)
    """The audit records (leaf format 2) of the events whose inclusion verified, in order."""
    links: list[Link] = field(default_factory=list)
    """Verified links to the log this one was upgraded from (:mod:`transparency.link`)."""
    linked_checkpoints: int = 0
    """Checkpoints of that earlier log proven to be prefixes of the linked log."""

    @property
    def ok(self) -> bool:
        return self.checkpoint is not None and not self.problems

    @property
    def first_bad_position(self) -> int | None:
        return min((p.position for p in self.problems if p.position is not None), default=None)

    def summary(self) -> str:
        """Human-readable verdict; problems ordered by position, the first bad one first."""
        if not self.ok or self.checkpoint is None:
            lines = [f"FAILED: {len(self.problems)} problem(s)"]
            return "\n".join(lines + [f"- {p.message}" for p in self.problems])
        c = self.checkpoint
        root = base64.b64encode(c.root).decode("ascii")
        scope = (
            f"all {c.size} events of the log, whose tree root matches"
            if self.complete
            else f"{self.events_verified} of the log's {c.size} events (positions 1 to "
            f"{self.events_verified}; the others are not in the bundle)"
        )
        linked = "".join(
            f"; position {link.position} links it to the {link.describe()}, whose events "
            "the bundle's first ones are"
            for link in self.links
        )
        if self.linked_checkpoints:
            linked += f", and {self.linked_checkpoints} checkpoint(s) of it are prefixes of that"
        return (
            f"OK: {scope}; log {c.origin} at size {c.size}, root {root}, signed at "
            f"{format_timestamp(c.timestamp)}; {self.checkpoints_verified} checkpoint(s), "
            f"each an extension of the previous one{linked}"
        )
