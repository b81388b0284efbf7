"""Database rows (sqlite3.Row or psycopg dict rows) to the read DTOs of views.py."""

from __future__ import annotations

import json
from typing import Any

from ledger.views import (
    ActivationView,
    AppView,
    BuildLogView,
    BuildView,
    EnvChangeView,
    EventView,
    PromotionView,
    RackReleaseView,
    ReleaseView,
    StepView,
)
from projections import sql


def values(row: Any) -> list[Any]:
    return list(row.values()) if isinstance(row, dict) else list(row)


def app(row: Any, workflows: tuple[str, ...] = ()) -> AppView:
    """``workflows``: those deploying it (kept in a table of their own)."""
    return AppView(
        name=row["name"],
        created_at=sql.parse_timestamp(row["created_at"]),
        actor=row["actor"],
        env_version=row["env_version"],
        active_release_id=row["active_release_id"],
        promotion_id=row["promotion_id"],
        desired_release_id=row["desired_release_id"],
        release_count=row["release_count"],
        latest_release_id=row["latest_release_id"],
        deadline_seconds=row["deadline_seconds"],
        position=row["position"],
        workflows=workflows,
        auto_promotion_paused=row["auto_promotion_paused"],
        archived=bool(row["archived"]),
    )


def release(row: Any) -> ReleaseView:
    return ReleaseView(
        id=row["id"],
        app=row["app"],
        version=row["version"],
        build_id=row["build_id"],
        image=row["image"],
        env_version=row["env_version"],
        env_keys=tuple(json.loads(row["env_keys"])),
        reason=row["reason"],
        parent_id=row["parent_id"],
        description=row["description"],
        actor=row["actor"],
        created_at=sql.parse_timestamp(row["created_at"]),
        position=row["position"],
        active=bool(row["active"]),
        ever_active=bool(row["ever_active"]),
        last_activated_at=sql.optional_timestamp(row["last_activated_at"]),
        commit=commit(row["git_commit"]),
    )


def build(row: Any) -> BuildView:
    return BuildView(
        id=row["id"],
        app=row["app"],
        status=row["status"],
        description=row["description"],
        image=row["image"],
        source=row["source"],
        actor=row["actor"],
        created_at=sql.parse_timestamp(row["created_at"]),
        position=row["position"],
        release_id=row["release_id"],
        started_at=sql.optional_timestamp(row["started_at"]),
        ended_at=sql.optional_timestamp(row["ended_at"]),
        error=row["error"],
        images=json.loads(row["images"]),
        commit=commit(row["git_commit"]),
    )


def commit(text: str | None) -> dict[str, str]:
    """A build's commit (``{}`` when not from git, or, for a release, its build unknown)."""
    return {} if text is None else dict(json.loads(text))


def build_log(row: Any) -> BuildLogView:
    return BuildLogView(
        build_id=row["build_id"], seq=row["seq"], text=row["text"], position=row["position"]
    )


def step(row: Any) -> StepView:
    return StepView(
        position=row["position"],
        time=sql.parse_timestamp(row["time"]),
        kind=row["kind"],
        message=row["message"],
    )


def promotion(row: Any, steps: tuple[StepView, ...] = ()) -> PromotionView:
    return PromotionView(
        id=row["id"],
        app=row["app"],
        release_id=row["release_id"],
        previous_release_id=row["previous_release_id"],
        status=row["status"],
        actor=row["actor"],
        description=row["description"],
        deadline_seconds=row["deadline_seconds"],
        created_at=sql.parse_timestamp(row["created_at"]),
        position=row["position"],
        started_at=sql.optional_timestamp(row["started_at"]),
        ended_at=sql.optional_timestamp(row["ended_at"]),
        cause=None if row["cause"] is None else json.loads(row["cause"]),
        steps=steps,
        queued=bool(row["queued"]),
    )


def env_change(row: Any) -> EnvChangeView:
    return EnvChangeView(
        app=row["app"],
        env_version=row["env_version"],
        added=tuple(json.loads(row["added"])),
        changed=tuple(json.loads(row["changed"])),
        removed=tuple(json.loads(row["removed"])),
        description=row["description"],
        actor=row["actor"],
        time=sql.parse_timestamp(row["time"]),
        position=row["position"],
    )


def event(row: Any) -> EventView:
    return EventView(
        position=row["position"],
        type=row["type"],
        app=row["app"],
        actor=row["actor"],
        time=sql.parse_timestamp(row["time"]),
        request_id=row["request_id"],
        data=json.loads(row["data"]),
    )


def rack_release(row: Any) -> RackReleaseView:
    return RackReleaseView(
        version=row["version"],
        started_at=sql.parse_timestamp(row["started_at"]),
        position=row["position"],
    )


def activation(row: Any) -> ActivationView:
    return ActivationView(
        position=row["position"],
        app=row["app"],
        release_id=row["release_id"],
        promotion_id=row["promotion_id"],
        time=sql.parse_timestamp(row["time"]),
    )
