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
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ledger.domain import Cause


@dataclass(frozen=True)
class ReleaseSpec:
    """What a runtime needs to run one release."""

    app: str
    release_id: str
    version: int
    build_id: str
    image: str
    env: Mapping[str, str]


@dataclass(frozen=True)
class RolloutPlan:
    """One promotion: roll ``target`` out, replacing ``previous`` (None on a first deploy)."""

    promotion_id: str
    app: str
    target: ReleaseSpec
    previous: ReleaseSpec | None
    deadline_seconds: int
    started_at: datetime


class Progress(Protocol):
    """How a runtime reports to the ledger while it works."""

    def step(self, kind: str, message: str) -> None: ...

    def cancelled(self) -> bool: ...


class Runtime(ABC):
    """Runs releases. Implemented by adapters (``record``, ``docker``)."""

    name: str

    @abstractmethod
    def resolve_image(self, reference: str) -> str:
        """The id of the image ``reference`` names; raise ``NotFound`` if it has none."""

    @abstractmethod
    def roll_out(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Make ``plan.target`` the running release; None on success."""

    @abstractmethod
    def restore(self, plan: RolloutPlan, progress: Progress) -> Cause | None:
        """Bring ``plan.previous`` back (or stop everything if there was none)."""
