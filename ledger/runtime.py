"""The runtime port: what the ledger needs from whatever runs the containers.

The ledger records; a runtime acts. A promotion may take minutes: the runtime reports
each step through :class:`Progress` (each becomes an event), checks
``progress.cancelled()`` between steps, honours the plan's deadline, and returns
``None`` on success or a :class:`~ledger.domain.Cause` on failure. ``restore`` brings
the previously active release back after a failure. Both must be safe to call again
after a crash (they are re-run when ``ledgerd`` restarts mid-promotion). ``tasks``
answers, read-only, where an app's replicas run now (``ledgerctl ps``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ledger.domain import Cause, Release, StepKind
from ledger.errors import FailedPrecondition
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

    @classmethod
    def of(cls, release: Release) -> ReleaseSpec:
        """What a runtime needs to run ``release``."""
        return cls(
            app=release.app,
            release_id=release.release_id,
            version=release.release_version,
            build_id=release.build_id,
            image=release.image,
            env=dict(release.env),
            manifest=release.parsed_manifest,
            images=dict(release.images),
        )

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


@dataclass(frozen=True)
class CommandRequest:
    """One one-off command: ``command`` (argv) in a new container of ``service`` of
    ``release``, with the release's env; stopped after ``timeout_seconds``."""

    run_id: str
    release: ReleaseSpec
    service: str
    command: tuple[str, ...]
    timeout_seconds: int = 3600


class CommandOutput(Protocol):
    """Where a runtime writes a one-off command's output (stdout and stderr, merged)."""

    def write(self, data: bytes) -> None: ...


@dataclass(frozen=True)
class TaskPlacement:
    """One task (a replica of a manifest service) as the runtime reports it: where it runs,
    in which state, of which release.

    ``slot`` is the replica's number (``web.2``); ``node`` the host it runs on (the engine's
    host for a single-engine runtime; "" while not placed yet); ``state`` is the runtime's
    own word (running, starting, failed, shutdown, exited, ...). ``since``: when it entered
    that state (None: unknown); ``message``: why it ended, for a task that failed ("" for
    one that runs).
    """

    service: str
    slot: int
    node: str
    state: str
    release_id: str
    release_version: int
    port: int | None = None
    since: datetime | None = None
    message: str = ""

    @property
    def title(self) -> str:
        """How people name a replica: ``web.2``."""
        return f"{self.service}.{self.slot}"


class Progress(Protocol):
    """How a runtime reports to the ledger while it works."""

    def step(self, kind: StepKind, message: str) -> None: ...

    def cancelled(self) -> bool: ...


class Runtime(ABC):
    """Runs releases. Implemented by adapters (``record``, ``docker``, ``swarm``)."""

    name: str
    keeps_containers = False  # True: reconcile() is called at start with every idle app
    runs_commands = False  # True: run_command() runs one-off commands

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

    def run_command(
        self, request: CommandRequest, output: CommandOutput, cancelled: Callable[[], bool]
    ) -> int:
        """Run a one-off command to its end and return its exit code.

        Its output goes to ``output`` as it comes. A command still running when
        ``cancelled()`` turns true or its timeout passes is stopped (exit code 137 or
        what the runtime reports). Raises ``FailedPrecondition`` when this runtime runs
        no containers, ``NotFound`` when the release has no such service.
        """
        raise FailedPrecondition(
            f"the {self.name} runtime runs no containers: one-off commands need the docker runtime"
        )

    def stop_app(self, app: str) -> None:
        """Stop and remove everything running for ``app`` (an archived review app)."""
        return None

    def tasks(self, app: str) -> list[TaskPlacement]:
        """Where ``app``'s tasks run now: every task of its services the runtime still
        lists, those running or starting and those recently ended (a failed one with its
        error), by service, then slot, newest first. Read-only, asked live (it is not
        recorded); ``Unavailable`` when the runtime cannot be reached. Default: none (a
        runtime that runs nothing, such as ``record``).
        """
        return []

    @abstractmethod
    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Make ``plan.target`` the running release; None on success."""

    @abstractmethod
    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Bring ``plan.previous`` back (or stop everything if there was none)."""
