"""Commands: what a caller asks the ledger to do (imperative names).

Plain data, validated by the application when handled. The same commands serve the
gRPC API and the web console, so no rule is written twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class CreateApp:
    name: str
    deadline_seconds: int = 0


@dataclass(frozen=True)
class UpdateApp:
    """Change an app's settings: its promotion deadline (0: the server's default)."""

    name: str
    deadline_seconds: int = 0


@dataclass(frozen=True)
class CreateBuild:
    app: str
    image: str
    description: str = ""


@dataclass(frozen=True)
class BuildFromSource:
    """Build the source tarball uploaded with the request (``size`` bytes, sha256
    ``digest``: what the client announced, 0 and "" when it did not)."""

    app: str
    size: int = 0
    digest: str = ""
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
    """``automatic``: a workflow promotes, not a person (see :mod:`ledger.autopromote`)."""

    app: str
    release_id: str = ""
    description: str = ""
    deadline_seconds: int = 0
    queue: bool = False
    automatic: bool = False


@dataclass(frozen=True)
class RollbackRelease:
    app: str
    release_id: str
    description: str = ""
    deadline_seconds: int = 0
    queue: bool = False


@dataclass(frozen=True)
class CancelPromotion:
    app: str
    promotion_id: str


@dataclass(frozen=True)
class CreateKey:
    """A new deploy key: ``role`` is admin, deployer, auditor or reader; ``apps`` the apps
    a deployer or reader key acts on (none for admin and auditor keys)."""

    name: str
    role: str
    apps: tuple[str, ...] = ()


@dataclass(frozen=True)
class RevokeKey:
    key_id: str


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
    queued: bool = False
    next_promotion_id: str = ""  # a queued promotion that began because this one ended
    env_version: int = 0
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    key_id: str = ""
    job_id: str = ""
    workflow: str = ""
    target_id: str = ""  # a notification target

    def to_record(self) -> dict[str, Any]:
        """What a request record keeps of this outcome: all of it but the position (a
        retry is answered with the log's head then), as JSON-ready values."""
        result = asdict(self)
        result.pop("position")
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in result.items()
        }

    @classmethod
    def from_record(cls, result: dict[str, Any]) -> Outcome:
        """The outcome a request record kept (see :meth:`to_record`), to answer a retry
        exactly as the original was answered.

        Fields this version does not know (a record written by a newer one) are left out
        rather than refusing the retry; lists are tuples again."""
        known = {item.name for item in fields(cls)} - {"position"}
        kept: dict[str, Any] = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in result.items()
            if key in known
        }
        return cls(**kept)
