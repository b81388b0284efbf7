"""Proto messages → plain dicts for ``--json`` output.

The keys are the CLI's machine contract (see docs/design.md): snake_case, ids that are empty on
the wire become ``null``, unset timestamps become ``null`` and set ones are RFC 3339 UTC
strings with microseconds, versions are integers. Scripts parse this, so keys are never
renamed; new ones may be added.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from ledger_api.v1 import ledger_pb2

JsonDict = dict[str, Any]


def timestamp(message: Message, field: str) -> str | None:
    """The RFC 3339 UTC string of ``message.<field>``, or None when the field is unset."""
    if not message.HasField(field):
        return None
    value = getattr(message, field)
    assert isinstance(value, timestamp_pb2.Timestamp)
    return format_time(value.ToDatetime(tzinfo=UTC))


def format_time(moment: datetime) -> str:
    """``2026-11-26T19:28:08.123456Z``: always UTC, always microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp for an aware datetime."""
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(moment.astimezone(UTC))
    return result


def _id(value: str) -> str | None:
    return value or None


def commit(message: Message, field: str = "commit") -> JsonDict | None:
    """Where a build from git came from (``message.<field>``), or None when it was not."""
    if not message.HasField(field):
        return None
    value = getattr(message, field)
    assert isinstance(value, ledger_pb2.Commit)
    return {
        "repository": value.repository,
        "ref": value.ref,
        "sha": value.sha,
        "author": value.author,
        "message": value.message,
    }


def release(message: ledger_pb2.Release, *, with_env: bool = False) -> JsonDict:
    """A release; ``env`` (the full snapshot) only when asked, as in ``releases info``."""
    result: JsonDict = {
        "id": message.id,
        "version": message.version,
        "app": message.app,
        "build_id": _id(message.build_id),
        "env_version": message.env_version,
        "reason": message.reason,
        "parent_id": _id(message.parent_id),
        "description": message.description,
        "actor": message.actor,
        "created_at": timestamp(message, "created_at"),
        "active": message.active,
        "ever_active": message.ever_active,
        "last_activated_at": timestamp(message, "last_activated_at"),
        "image": message.image,
        "env_keys": sorted(message.env_keys),
        "commit": commit(message),
    }
    if with_env:
        result["env"] = dict(sorted(message.env.items()))
        result["env_masked"] = message.env_masked  # values not revealed: the server sent ***
    return result


def build(message: ledger_pb2.Build) -> JsonDict:
    """A build."""
    return {
        "id": message.id,
        "app": message.app,
        "status": message.status,
        "description": message.description,
        "image": message.image,
        "release_id": _id(message.release_id),
        "started_at": timestamp(message, "started_at"),
        "ended_at": timestamp(message, "ended_at"),
        "created_at": timestamp(message, "created_at"),
        "actor": message.actor,
        "error": message.error,
        "source": message.source,
        "images": dict(sorted(message.images.items())),
        "commit": commit(message),
    }


def cause(message: ledger_pb2.PromotionCause) -> JsonDict:
    """The structured cause of a promotion's failure."""
    return {
        "kind": message.kind,
        "message": message.message,
        "service": message.service,
        "node": message.node,
        "container": message.container,
        "exit_code": message.exit_code,
        "last_response": message.last_response,
        "output": message.output,
    }


def step(message: ledger_pb2.PromotionStep) -> JsonDict:
    """One recorded step of a promotion."""
    return {
        "position": message.position,
        "time": timestamp(message, "time"),
        "kind": message.kind,
        "message": message.message,
    }


def promotion(message: ledger_pb2.Promotion) -> JsonDict:
    """A promotion, with its steps and its failure cause (null when none)."""
    return {
        "id": message.id,
        "app": message.app,
        "release_id": _id(message.release_id),
        "previous_release_id": _id(message.previous_release_id),
        "status": message.status,
        "reason": message.reason,
        "started_at": timestamp(message, "started_at"),
        "ended_at": timestamp(message, "ended_at"),
        "created_at": timestamp(message, "created_at"),
        "actor": message.actor,
        "description": message.description,
        "deadline_seconds": message.deadline_seconds,
        "queued": message.queued,
        "cause": cause(message.cause) if message.HasField("cause") else None,
        "steps": [step(s) for s in message.steps],
    }


def app(message: ledger_pb2.App) -> JsonDict:
    """An app; ``promotion`` is the promotion in flight or null."""
    return {
        "name": message.name,
        "active_release_id": _id(message.active_release_id),
        "env_version": message.env_version,
        "promotion": promotion(message.promotion) if message.HasField("promotion") else None,
        "desired_release_id": _id(message.desired_release_id),
        "latest_release_id": _id(message.latest_release_id),
        "release_count": message.release_count,
        "created_at": timestamp(message, "created_at"),
        "actor": message.actor,
        "deadline_seconds": message.deadline_seconds or None,
        "queued_promotion_ids": list(message.queued_promotion_ids),
        "workflows": list(message.workflows),
        # why automatic promotion is paused (null: it is not)
        "auto_promotion_paused": message.auto_promotion_paused or None,
        "archived": message.archived,
    }


def optional_release(message: Message, field: str) -> JsonDict | None:
    """``message.<field>`` rendered as a release, or None when unset."""
    if not message.HasField(field):
        return None
    value = getattr(message, field)
    assert isinstance(value, ledger_pb2.Release)
    return release(value)


def optional_promotion(message: Message, field: str) -> JsonDict | None:
    """``message.<field>`` rendered as a promotion, or None when unset."""
    if not message.HasField(field):
        return None
    value = getattr(message, field)
    assert isinstance(value, ledger_pb2.Promotion)
    return promotion(value)


def env(message: ledger_pb2.Env) -> JsonDict:
    """An app's environment: ``{"version": n, "env": {...}, "masked": bool}``, sorted keys
    (``masked``: the values were not revealed and the server sent each one masked)."""
    return {
        "version": message.version,
        "env": dict(sorted(message.values.items())),
        "masked": message.masked,
    }


def env_update(message: ledger_pb2.UpdateEnvResponse) -> JsonDict:
    """The result of ``env set``/``env unset``."""
    return {
        "env_version": message.env_version,
        "added": list(message.added),
        "changed": list(message.changed),
        "removed": list(message.removed),
        "release": optional_release(message, "release"),
        "promotion": optional_promotion(message, "promotion"),
    }


def diff(message: ledger_pb2.ReleaseDiff) -> JsonDict:
    """What differs between two releases (env keys only: values are secrets)."""
    return {
        "from_release": optional_release(message, "from_release"),
        "to_release": optional_release(message, "to_release"),
        "build_changed": message.build_changed,
        "added": list(message.added),
        "changed": list(message.changed),
        "removed": list(message.removed),
    }


def event_data(raw: str) -> Any:
    """The event's JSON payload parsed; ``{}`` when empty, the raw text if not JSON."""
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def event(message: ledger_pb2.Event) -> JsonDict:
    """One event of the global log."""
    return {
        "position": message.position,
        "type": message.type,
        "app": message.app or None,
        "actor": message.actor,
        "time": timestamp(message, "time"),
        "request_id": _id(message.request_id),
        "data": event_data(message.data),
    }


def task(message: ledger_pb2.Task) -> JsonDict:
    """One task of an app (``ps``): where it runs, in which state, of which release;
    ``port`` null for a service without one, ``message`` why a failed task ended."""
    return {
        "service": message.service,
        "slot": message.slot,
        "node": message.node,
        "state": message.state,
        "release_id": _id(message.release_id),
        "release_version": message.release_version,
        "port": message.port or None,
        "since": timestamp(message, "since"),
        "message": message.message,
    }


def rack_release(message: ledger_pb2.RackRelease) -> JsonDict:
    """One version the server ran."""
    return {
        "version": message.version,
        "started_at": timestamp(message, "started_at"),
        "until": timestamp(message, "until"),
        "position": message.position,
    }


def dumps(value: Any, *, compact: bool = False) -> str:
    """JSON text for stdout: indented, or one line for streams (JSON Lines)."""
    if compact:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(value, indent=2, ensure_ascii=False)
