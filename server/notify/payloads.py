"""The body of a delivery: the event's audit record as JSON, or one line for a chat room.

Both are made from the audit timeline's entry of the event (:class:`EventView`), in which
every secret value is already a keyed digest (or left out): nothing here can add one.
The chat line looks up what a person wants to read (the release's version, its commit)
in the read model; an event it has no sentence for gets a plain one.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from uuid import NAMESPACE_URL, uuid5

from ledger.notifications.views import Format
from ledger.views import BuildView, EventView, PromotionView, ReleaseView
from transparency.leaf_v2 import rfc3339

MAX_CAUSE = 160


class Lookup(Protocol):
    """What a chat line reads about the resources an event names (the read model)."""

    def get_promotion(self, promotion_id: str) -> PromotionView | None: ...

    def get_release(self, release_id: str) -> ReleaseView | None: ...

    def get_build(self, build_id: str) -> BuildView | None: ...


def delivery_id(target_id: str, position: int) -> str:
    """The delivery's id: the same for every attempt, and after a restart, of one event
    to one target (so a receiver can drop a repeat)."""
    return str(uuid5(NAMESPACE_URL, f"ledger:delivery:{target_id}:{position}"))


def record(entry: EventView, name: str, delivery: str) -> dict[str, Any]:
    """The JSON body: the audit record's members, the public name, position and id."""
    return {
        "event": name,
        "delivery_id": delivery,
        "log_position": entry.position,
        "type": entry.type,
        "app": entry.app,
        "actor": entry.actor,
        "time": rfc3339(entry.time),
        "request_id": entry.request_id,
        "data": entry.data,
    }


def body(entry: EventView, name: str, delivery: str, body_format: str, lookup: Lookup) -> bytes:
    """The bytes to send (and sign), compact JSON in UTF-8."""
    value: dict[str, Any]
    if body_format == Format.SLACK.value:
        value = {"text": slack_text(entry, name, lookup)}
    else:
        value = record(entry, name, delivery)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def person(actor: str) -> str:
    """``alice`` of ``alice (K1A2B3C4D5E)``."""
    return actor.split(" (", 1)[0] or "ledgerd"


def slack_text(entry: EventView, name: str, lookup: Lookup) -> str:
    """One line a person reads: ``Promoted shop v12 (1a2b3c4) by alice``."""
    data, app, who = entry.data, entry.app, person(entry.actor)
    family = name.partition(".")[0]
    if family == "promotion" and data.get("promotion_id"):
        text = _promotion_text(name, app, who, data, lookup)
        if text:
            return text
    if family == "build" and data.get("build_id"):
        build = str(data["build_id"])
        if name == "build.failed":
            return f"Build {build} of {app} failed: {_cut(str(data.get('error', '')))}"
        if name == "build.succeeded":
            return f"Build {build} of {app} succeeded"
        if name == "build.created":
            return f"Build {build} of {app} started by {who}"
    if name == "release.created" and data.get("release_id"):
        release = lookup.get_release(str(data["release_id"]))
        if release is not None:
            return f"Release {_release(release, lookup)} of {app} created by {who}"
    if name == "env.changed":
        return f"Env of {app} changed by {who}: {_env_change(data)}"
    if name == "app.created":
        return f"App {app} created by {who}"
    where = f" of {app}" if app else ""
    return f"{name}{where} by {who} (log position {entry.position})"


def _promotion_text(name: str, app: str, who: str, data: dict[str, Any], lookup: Lookup) -> str:
    promotion = lookup.get_promotion(str(data["promotion_id"]))
    if promotion is None:
        return ""
    release = _version(lookup, promotion.release_id)
    previous = _version(lookup, promotion.previous_release_id)
    cause = _cut(str((data.get("cause") or promotion.cause or {}).get("message", "")))
    if name == "promotion.succeeded":
        return f"Promoted {app} {release} by {person(promotion.actor)}"
    if name == "promotion.created":
        return f"Promotion of {app} {release} requested by {who}"
    if name == "promotion.started":
        return f"Promoting {app} {release}"
    if name == "promotion.failed":
        return f"Promotion of {app} {release} failed: {cause or 'no cause recorded'}"
    if name == "promotion.rolled_back":
        back = f" — rolled back to {previous}" if previous else " — rolled back"
        reason = promotion.cause.get("message", "") if promotion.cause else ""
        return f"Promotion of {app} {release} failed: {_cut(str(reason)) or 'rolled back'}{back}"
    if name == "promotion.rollback_failed":
        return f"Promotion of {app} {release} failed and its rollback failed too: {cause}"
    if name == "promotion.cancelled":
        return f"Promotion of {app} {release} cancelled by {who}"
    return ""


def _version(lookup: Lookup, release_id: str) -> str:
    """``v12 (1a2b3c4)`` with the short sha when the release's build came from git."""
    release = lookup.get_release(release_id) if release_id else None
    return _release(release, lookup) if release is not None else ""


def _release(release: ReleaseView, lookup: Lookup) -> str:
    sha = release.commit.get("sha", "")
    if not sha and release.build_id:
        build = lookup.get_build(release.build_id)
        sha = build.commit.get("sha", "") if build is not None else ""
    return f"v{release.version} ({sha[:7]})" if sha else f"v{release.version}"


def _env_change(data: dict[str, Any]) -> str:
    """Which keys changed (never a value: the record holds digests, not shown here)."""
    values = data.get("values") or {}
    removed = data.get("removed") or []
    parts = []
    if values:
        parts.append("set " + ", ".join(sorted(str(key) for key in values)))
    if removed:
        parts.append("removed " + ", ".join(sorted(str(key) for key in removed)))
    return "; ".join(parts) or "no keys"


def _cut(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_CAUSE else line[: MAX_CAUSE - 1] + "…"
