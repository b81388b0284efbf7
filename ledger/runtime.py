"""The runtime port: what the ledger needs from whatever runs the containers.

The ledger records; a runtime acts. A promotion may take minutes: the runtime reports
each step through :class:`Progress` (each becomes an event), checks
``progress.cancelled()`` between steps, honours the plan's deadline, and returns
``None`` on success or a :class:`~ledger.domain.Cause` on failure. ``restore`` brings
the previously active release back after a failure. Both must be safe to call again
after a crash (they are re-run when ``ledgerd`` restarts mid-promotion).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ledger.domain import Cause, StepKind
from ledger.manifest import Manifest


@dataclass(frozen=True)
class ReleaseSpec:
    """What a runtime needs to run one release."""

    app: str
    release_id: str
    version: int
    build_id: str
    image: str
    env: Mapping[str, str]
    manifest: Manifest = field(default_factory=Manifest.default)
    images: Mapping[str, str] = field(default_factory=dict)

    def image_of(self, service: str) -> str:
        """The image a service runs: its own build's image, else the release's image."""
        return self.images.get(service) or self.image


@dataclass(frozen=True)
class RolloutPlan:
    """One promotion: roll ``target`` out, replacing ``previous`` (None on a first deploy)."""

    promotion_id: str
    app: str
    target: ReleaseSpec
    previous: ReleaseSpec | None
    deadline_seconds: int
    started_at: datetime


class BuildFailed(Exception):
    """A build from source failed (bad Dockerfile, failing step): the build is recorded failed.

    The message says why in a line; the full output is in the build's log.
    """


@dataclass(frozen=True)
class BuildRequest:
    """One build from source: ``source`` is a directory holding the unpacked tarball."""

    app: str
    build_id: str
    source: Path
    manifest: Manifest


@dataclass(frozen=True)
class BuiltImages:
    """What a build produced: per service, the image tag and the image id."""

    tags: Mapping[str, str]
    ids: Mapping[str, str]


class BuildLog(Protocol):
    """Where a runtime writes a build's output as it happens."""

    def write(self, text: str) -> None: ...


class Progress(Protocol):
    """How a runtime reports to the ledger while it works."""

    def step(self, kind: StepKind, message: str) -> None: ...

    def cancelled(self) -> bool: ...


class Runtime(ABC):
    """Runs releases. Implemented by adapters (``record``, ``docker``)."""

    name: str
    keeps_containers = False  # True: reconcile() is called at start with every idle app

    @abstractmethod
    def resolve_image(self, reference: str) -> str:
        """The id of the image ``reference`` names; raise ``NotFound`` if it has none."""

    @abstractmethod
    def build(self, request: BuildRequest, log: BuildLog) -> BuiltImages:
        """Build one image per service that has ``build``; raise ``BuildFailed`` on error."""

    def reconcile(self, running: Mapping[str, ReleaseSpec | None]) -> None:
        """At start: leave only each idle app's active release running (default: nothing).

        ``running`` maps every app with no promotion in flight to its active release.
        """
        return None

    def close(self) -> None:
        """Release connections."""
        return None

    @abstractmethod
    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Make ``plan.target`` the running release; None on success."""

    @abstractmethod
    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Bring ``plan.previous`` back (or stop everything if there was none)."""
