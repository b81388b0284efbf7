"""What the read side shows of notification targets and their deliveries (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Format(StrEnum):
    """How a delivery's body is written."""

    JSON = "json"  # the event's audit record, its public name, position and delivery id
    SLACK = "slack"  # ``{"text": ...}``: one line a person reads (Slack-compatible)


class DeliveryStatus(StrEnum):
    """Where a delivery stands: retried until delivered or given up."""

    RETRYING = "retrying"  # the last attempt failed; another follows
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # given up after the retry window; the target moved on


@dataclass(frozen=True)
class TargetView:
    """A notification target, never its secret. ``position``: the log position up to
    which its events were delivered or given up (it starts at its creation)."""

    id: str
    url: str
    events: tuple[str, ...]
    app: str  # "" for every app
    format: str
    actor: str
    created_at: datetime
    created_position: int
    position: int
    deleted: bool


@dataclass(frozen=True)
class DeliveryView:
    """One event sent to one target: its latest attempt, and how many were made."""

    target_id: str
    log_position: int
    delivery_id: str
    event: str  # the public name
    status: str
    attempts: int
    status_code: int  # 0 when the last attempt got no HTTP answer
    error: str
    first_attempt_at: datetime
    last_attempt_at: datetime
