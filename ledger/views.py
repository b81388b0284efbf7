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
    workflows: tuple[str, ...] = ()  # workflows that deploy it
    auto_promotion_paused: str = ""  # why automatic promotion is paused ('' if it is not)
    archived: bool = False


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
    commit: dict[str, str] = field(default_factory=dict)  # its build's provenance


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
    commit: dict[str, str] = field(default_factory=dict)  # repository, ref, sha, author, message


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
    """A version ``ledgerd`` started with, from ``started_at`` until the next start of
    another version (None: it is the last one started)."""

    version: str
    started_at: datetime
    position: int
    until: datetime | None = None


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


@dataclass(frozen=True)
class WorkflowView:
    """A workflow's settings as shown (never its secret, credentials or review env
    values: ``review_env_keys`` only)."""

    name: str
    repository: str
    branch: str
    apps: tuple[str, ...]
    promote: str  # auto | manual
    before_promote: tuple[str, ...]  # "service: command"
    after_promote: tuple[str, ...]
    review_apps: bool
    review_env_keys: tuple[str, ...]
    wait_for_ci: bool
    poll_seconds: int
    allow_forks: bool
    has_credentials: bool
    actor: str
    created_at: datetime
    updated_at: datetime
    position: int
    deleted: bool = False


@dataclass(frozen=True)
class JobStepView:
    name: str  # fetch, build, ci, review app, before-promote, promote, after-promote, archive
    app: str
    status: str  # running | succeeded | failed | skipped
    detail: str
    build_id: str = ""
    release_id: str = ""
    promotion_id: str = ""


@dataclass(frozen=True)
class JobView:
    id: str
    workflow: str
    kind: str  # deploy | review | close_review
    status: str  # queued | running | waiting | succeeded | failed | superseded
    apps: tuple[str, ...]
    provider: str
    delivery_id: str
    ref: str
    sha: str
    pusher: str
    pull_number: int
    message: str  # the commit's message as the trigger told it ('' when unknown)
    rerun_of: str
    cause: str
    checks: str  # CI's result on the commit: '' (none yet), success, failure
    actor: str
    created_at: datetime
    position: int
    started_at: datetime | None = None
    ended_at: datetime | None = None
    steps: tuple[JobStepView, ...] = ()


@dataclass(frozen=True)
class DeliveryView:
    """A webhook delivery (or poll, or manual run) a workflow accepted."""

    position: int
    workflow: str
    provider: str
    delivery_id: str
    event: str
    kind: str
    ref: str
    sha: str
    pusher: str
    job_id: str
    outcome: str
    time: datetime


@dataclass(frozen=True)
class DeploymentView:
    """A promotion with what the deploy metrics need of the release it promoted (its
    reason and creation) and of that release's build (its creation and provenance): ''
    and None when the views do not know them."""

    promotion: PromotionView
    release_reason: str = ""
    release_created_at: datetime | None = None
    build_created_at: datetime | None = None
    commit: dict[str, str] = field(default_factory=dict)
