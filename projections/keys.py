"""The keys table: deploy keys as the API lists them, and the lookup by token hash.

One row per key, created by ``KeyCreated`` and stamped by ``KeyRevoked``. The row holds
the token's SHA-256 so that the server can find the key a request presents (a unique
index makes that one index probe); :func:`key_view` drops it, so no view handed out
(``ListKeys``, ``WhoAmI``) ever carries it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ledger.domain import Key
from ledger.views import KeyView
from projections import sql
from projections.audit import to_json
from projections.changes import Change, Insert, Update


def _key_created(e: Key.Created, position: int, time: int) -> list[Change]:
    row: dict[str, object] = {
        "id": e.key_id,
        "name": e.name,
        "role": e.role,
        "apps": to_json(sorted(e.apps)),
        "token_hash": e.token_hash,
        "actor": e.actor,
        "created_at": time,
        "position": position,
        "revoked_at": None,
        "revoked_by": "",
    }
    return [Insert("keys", row)]


def _key_revoked(e: Key.Revoked, position: int, time: int) -> list[Change]:
    return [Update("keys", (e.key_id,), {"revoked_at": time, "revoked_by": e.actor})]


HANDLERS: dict[type[Any], Callable[[Any, int, int], list[Change]]] = {
    Key.Created: _key_created,
    Key.Revoked: _key_revoked,
}


def key_view(row: Any) -> KeyView:
    """A row as a view, without its token hash."""
    return KeyView(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        apps=tuple(json.loads(row["apps"])),
        actor=row["actor"],
        created_at=sql.parse_timestamp(row["created_at"]),
        position=row["position"],
        revoked_at=sql.optional_timestamp(row["revoked_at"]),
        revoked_by=row["revoked_by"],
    )
