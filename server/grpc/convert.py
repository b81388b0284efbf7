"""What the read side answers (``ledger.views``, ``ledger.queries``) as API messages.

One function per message so every RPC renders a resource the same way. Environment
values only ever enter a message through :func:`release_detail` and :func:`env`, as the
read side gave them (masked unless revealed): views carry keys only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from ledger.errors import InvalidArgument
from ledger.queries import AppAt, AppSummary, EnvState, ReleaseDetail
from ledger.runtime import TaskPlacement
from ledger.views import (
    ActivationView,
    AppView,
    BuildLogView,
    BuildView,
    EventView,
    PromotionView,
    RackReleaseView,
    ReleaseView,
    StepView,
)
from ledger_api.v1 import ledger_pb2 as pb


def timestamp(value: datetime | None) -> Timestamp | None:
    """A protobuf timestamp (None stays unset); naive datetimes are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


# What a google.protobuf.Timestamp may hold: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
MIN_SECONDS = -62_135_596_800
MAX_SECONDS = 253_402_300_799
MAX_NANOS = 999_999_999


def to_datetime(stamp: Timestamp, field: str = "time") -> datetime:
    """The moment a request's timestamp names; INVALID_ARGUMENT (naming ``field``) for
    seconds or nanos outside what a Timestamp may hold, which no datetime can represent."""
    if not MIN_SECONDS <= stamp.seconds <= MAX_SECONDS or not 0 <= stamp.nanos <= MAX_NANOS:
        raise InvalidArgument(
            f"{field} is not a valid timestamp: seconds must fall in the years 1 to 9999 "
            f"and nanos in 0 to {MAX_NANOS}"
        )
    return stamp.ToDatetime(tzinfo=UTC)


def optional_time(request: Any, field: str) -> datetime | None:
    """The moment in ``request.<field>``, None when the field is unset."""
    return to_datetime(getattr(request, field), field) if request.HasField(field) else None


def app_summary(summary: AppSummary) -> pb.App:
    return app(summary.app, summary.promotion, summary.queued)


def app(
    view: AppView, promotion: PromotionView | None = None, queued: Sequence[str] = ()
) -> pb.App:
    message = pb.App(
        name=view.name,
        active_release_id=view.active_release_id,
        env_version=view.env_version,
        desired_release_id=view.desired_release_id,
        release_count=view.release_count,
        latest_release_id=view.latest_release_id,
        created_at=timestamp(view.created_at),
        actor=view.actor,
        deadline_seconds=view.deadline_seconds,
        queued_promotion_ids=queued,
        workflows=list(view.workflows),
        auto_promotion_paused=view.auto_promotion_paused,
        archived=view.archived,
    )
    if promotion is not None:
        message.promotion.CopyFrom(promotion_message(promotion))
    return message


def build(view: BuildView) -> pb.Build:
    return pb.Build(
        id=view.id,
        app=view.app,
        status=view.status,
        description=view.description,
        image=view.image,
        release_id=view.release_id,
        created_at=timestamp(view.created_at),
        started_at=timestamp(view.started_at),
        ended_at=timestamp(view.ended_at),
        actor=view.actor,
        error=view.error,
        source=view.source,
        images=view.images,
        commit=commit(view.commit),
    )


def commit(provenance: Mapping[str, str]) -> pb.Commit | None:
    """A build's provenance (None for builds not from git)."""
    if not provenance:
        return None
    fields = ("repository", "ref", "sha", "author", "message")
    return pb.Commit(**{name: str(provenance.get(name, "")) for name in fields})


def build_log_chunk(view: BuildLogView) -> pb.BuildLogChunk:
    return pb.BuildLogChunk(data=view.text.encode("utf-8"), seq=view.seq)


def release_detail(detail: ReleaseDetail) -> pb.Release:
    """One release with its env (values masked unless revealed)."""
    message = release(detail.release, detail.env)
    message.env_masked = detail.masked
    return message


def release(view: ReleaseView, env: Mapping[str, str] | None = None) -> pb.Release:
    """A release; ``env`` only when the caller asked for one release."""
    message = pb.Release(
        id=view.id,
        app=view.app,
        version=view.version,
        build_id=view.build_id,
        env_version=view.env_version,
        reason=view.reason,
        parent_id=view.parent_id,
        description=view.description,
        actor=view.actor,
        created_at=timestamp(view.created_at),
        active=view.active,
        ever_active=view.ever_active,
        last_activated_at=timestamp(view.last_activated_at),
        env_keys=sorted(env) if env is not None else list(view.env_keys),
        image=view.image,
        commit=commit(view.commit),
    )
    if env is not None:
        message.env.update(env)
    return message


def promotion_message(view: PromotionView) -> pb.Promotion:
    cause = view.cause or {}
    return pb.Promotion(
        id=view.id,
        app=view.app,
        release_id=view.release_id,
        previous_release_id=view.previous_release_id,
        status=view.status,
        reason=str(cause.get("message", "")),
        cause=_cause(cause) if cause else None,
        created_at=timestamp(view.created_at),
        started_at=timestamp(view.started_at),
        ended_at=timestamp(view.ended_at),
        actor=view.actor,
        deadline_seconds=view.deadline_seconds,
        steps=[_step(step) for step in view.steps],
        description=view.description,
        queued=view.queued,
    )


def _cause(cause: Mapping[str, Any]) -> pb.PromotionCause:
    return pb.PromotionCause(
        kind=str(cause.get("kind", "")),
        message=str(cause.get("message", "")),
        service=str(cause.get("service", "")),
        container=str(cause.get("container", "")),
        exit_code=int(cause.get("exit_code", 0) or 0),
        last_response=str(cause.get("last_response", "")),
        node=str(cause.get("node", "")),
        output=str(cause.get("output", "")),
    )


def _step(step: StepView) -> pb.PromotionStep:
    return pb.PromotionStep(
        position=step.position, time=timestamp(step.time), kind=step.kind, message=step.message
    )


def env(state: EnvState) -> pb.Env:
    message = pb.Env(app=state.app, version=state.version, masked=state.masked)
    message.values.update(state.values)
    return message


def activation(view: ActivationView) -> pb.Activation:
    return pb.Activation(
        position=view.position,
        release_id=view.release_id,
        promotion_id=view.promotion_id,
        time=timestamp(view.time),
    )


def app_at(then: AppAt) -> pb.AppAt:
    message = pb.AppAt(
        app=app(then.app),
        position=then.position,
        before_app=then.before_app,
        env_version=then.env_version,
        releases=[release(view) for view in then.releases],
        older_releases=then.older_releases,
        events=[event(view) for view in then.events],
        events_shown=then.events_shown,
        previous_activation=then.previous_activation,
        next_activation=then.next_activation,
    )
    if then.release is not None:
        message.release.CopyFrom(release(then.release))
    if then.live_since is not None:
        message.live_since.CopyFrom(activation(then.live_since))
    return message


def event(view: EventView) -> pb.Event:
    return pb.Event(
        position=view.position,
        type=view.type,
        app=view.app,
        actor=view.actor,
        time=timestamp(view.time),
        request_id=view.request_id,
        data=json.dumps(view.data, sort_keys=True, default=str, separators=(",", ":")),
    )


def rack_release(view: RackReleaseView) -> pb.RackRelease:
    return pb.RackRelease(
        version=view.version,
        started_at=timestamp(view.started_at),
        until=timestamp(view.until),
        position=view.position,
    )


def task(placement: TaskPlacement) -> pb.Task:
    return pb.Task(
        service=placement.service,
        slot=placement.slot,
        node=placement.node,
        state=placement.state,
        release_id=placement.release_id,
        release_version=placement.release_version,
        port=placement.port or 0,
        since=timestamp(placement.since),
        message=placement.message,
    )
