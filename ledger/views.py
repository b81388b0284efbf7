"""Read models: what the projections materialise and what the read side hands out.

Plain frozen dataclasses, free of any storage detail (the port that returns them is
:mod:`ledger.read_model`). Environment values never appear here: views carry keys only;
``EventView.data`` has values masked (:mod:`ledger.domain.secrecy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AppView:
    name: str
    created_at: datetime
    actor: str
    env_version: int = 0
    active_release_id: str = ""
    promotion_id: str = ""  # the promotion in flight
    desired_release_id: str = ""
    release_count: int = 0
    latest_release_id: str = ""
    deadline_seconds: int = 0
    position: int = 0  # where the app was created in the log


@dataclass(frozen=True)
class ReleaseView:
    id: str
    app: str
    version: int
    build_id: str
    image: str
    env_version: int
    env_keys: tuple[str, ...]
    reason: str
    parent_id: str
    description: str
    actor: str
    created_at: datetime
    position: int
    active: bool = False
    ever_active: bool = False
    last_activated_at: datetime | None = None


@dataclass(frozen=True)
class BuildView:
    id: str
    app: str
    status: str
    description: str
    image: str
    source: str
    actor: str
    created_at: datetime
    position: int
    release_id: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str = ""
    images: dict[str, str] = field(default_factory=dict)  # service → image id


@dataclass(frozen=True)
class BuildLogView:
    """One chunk of a build's output; ``seq`` counts chunks per build from 1."""

    build_id: str
    seq: int
    text: str
    position: int


@dataclass(frozen=True)
class StepView:
    position: int
    time: datetime
    kind: str
    message: str


@dataclass(frozen=True)
class PromotionView:
    id: str
    app: str
    release_id: str
    previous_release_id: str
    status: str
    actor: str
    description: str
    deadline_seconds: int
    created_at: datetime
    position: int
    started_at: datetime | None = None
    ended_at: datetime | None = None
    cause: dict[str, Any] | None = None
    steps: tuple[StepView, ...] = field(default=())
    queued: bool = False


@dataclass(frozen=True)
class EnvChangeView:
    app: str
    env_version: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    description: str
    actor: str
    time: datetime
    position: int


@dataclass(frozen=True)
class ActivationView:
    """A release made active (by a promotion that succeeded), at a log position."""

    position: int
    app: str
    release_id: str
    promotion_id: str
    time: datetime


@dataclass(frozen=True)
class EventView:
    """One entry of the audit timeline (the global log, values masked)."""

    position: int
    type: str
    app: str
    actor: str
    time: datetime
    request_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class RackReleaseView:
    version: str
    started_at: datetime
    position: int


@dataclass(frozen=True)
class KeyView:
    """A deploy key as listed: never its token, nor the token's hash."""

    id: str
    name: str
    role: str
    apps: tuple[str, ...]
    actor: str  # who created it
    created_at: datetime
    position: int
    revoked_at: datetime | None = None
    revoked_by: str = ""
