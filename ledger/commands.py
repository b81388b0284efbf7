"""Commands: what a caller asks the ledger to do (imperative names).

Plain data, validated by the application when handled. The same commands serve the
gRPC API and the web console, so no rule is written twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CreateApp:
    name: str


@dataclass(frozen=True)
class CreateBuild:
    app: str
    image: str
    description: str = ""


@dataclass(frozen=True)
class UpdateEnv:
    app: str
    set_values: dict[str, str] = field(default_factory=dict)
    unset: tuple[str, ...] = ()
    replace: bool = False
    expected_version: int | None = None
    promote: bool = False
    base_release_id: str = ""
    description: str = ""
    deadline_seconds: int = 0


@dataclass(frozen=True)
class PromoteRelease:
    app: str
    release_id: str = ""
    description: str = ""
    deadline_seconds: int = 0


@dataclass(frozen=True)
class RollbackRelease:
    app: str
    release_id: str
    description: str = ""
    deadline_seconds: int = 0


@dataclass(frozen=True)
class CancelPromotion:
    app: str
    promotion_id: str


@dataclass(frozen=True)
class Outcome:
    """What a handled command produced, and the log position that includes it.

    ``position`` lets a caller wait until projections have caught up with its own
    write (read-your-writes).
    """

    app: str
    position: int = 0
    build_id: str = ""
    release_id: str = ""
    promotion_id: str = ""
    env_version: int = 0
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
