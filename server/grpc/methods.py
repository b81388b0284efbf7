"""The authorisation table: what each RPC needs, and where the app it concerns is named.

Read by the interceptor (``server/grpc/interceptor.py``), the one place requests are admitted.
Each RPC needs one :class:`~ledger.access.Permission`, and (for app-limited keys:
deployers and readers) the app it concerns must be one of the key's. The app is found:

- ``FIELD``: in a request field (``app`` or ``name``);
- ``FILTER``: in the optional ``app`` filter of a log read; without one the request is
  about every app, which only keys for every app (admin, auditor) may read: app-limited
  keys must filter by one of their apps (refused, not silently narrowed);
- ``RESOURCE``: in the optional ``app`` field, else it is the app of the build, release
  or promotion named by id, looked up before the call (so a reader of one app cannot read
  another app's build by its id);
- ``FIRST_MESSAGE``: in the metadata that opens a client stream (CreateBuild);
- ``NONE``: the RPC concerns no single app. ``ListApps`` lists only the key's apps (the
  servicer filters by the caller, see :func:`server.infra.authn.current`); the rack's versions
  and ``WhoAmI`` are for every key; key management is admin-only; audit proofs and
  exports (the whole log) are for admin and auditor keys.

Methods of our services missing from the table are admin-only (fail closed); gRPC
health checking and reflection need no token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ledger.access import Permission
from ledger.ids import BUILD, PROMOTION, RELEASE, is_id
from projections.reader import ReadModel

LEDGER = "/ledger.v1.Ledger/"
KEYS = "/ledger.v1.Keys/"
OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)


class Scope(Enum):
    """Where a request names the app it concerns (see the module docstring)."""

    NONE = "none"
    FIELD = "field"
    FILTER = "filter"
    RESOURCE = "resource"
    FIRST_MESSAGE = "first_message"


Owners = Callable[[ReadModel, Any], list[str]]
"""The apps of the resources a request names by id (none found: [])."""


@dataclass(frozen=True)
class Rule:
    """What one RPC needs: ``permission`` (None: any valid key) on the app found by
    ``scope``; or, with ``admin_only``, an admin key."""

    permission: Permission | None
    scope: Scope = Scope.NONE
    field: str = "app"
    owners: Owners | None = None
    admin_only: bool = False


# A malformed id names nothing: it is not looked up (PostgreSQL refuses some strings, such
# as those holding NUL, in a query) and the servicer refuses it with INVALID_ARGUMENT.


def _build(reader: ReadModel, request: Any) -> list[str]:
    view = reader.get_build(request.id) if is_id(BUILD, request.id) else None
    return [view.app] if view is not None else []


def _release(reader: ReadModel, request: Any) -> list[str]:
    view = reader.get_release(request.id) if is_id(RELEASE, request.id) else None
    return [view.app] if view is not None else []


def _promotion(reader: ReadModel, request: Any) -> list[str]:
    view = reader.get_promotion(request.id) if is_id(PROMOTION, request.id) else None
    return [view.app] if view is not None else []


def _diff(reader: ReadModel, request: Any) -> list[str]:
    ids = (request.from_release_id, request.to_release_id)
    views = [reader.get_release(value) for value in ids if is_id(RELEASE, value)]
    return [view.app for view in views if view is not None]


P = Permission
RULES: dict[str, Rule] = {
    LEDGER + "CreateApp": Rule(P.CREATE_APP),
    LEDGER + "GetApp": Rule(P.READ, Scope.FIELD, "name"),
    LEDGER + "ListApps": Rule(P.READ),
    LEDGER + "UpdateApp": Rule(P.CONFIGURE_APP, Scope.FIELD, "name"),
    LEDGER + "CreateBuild": Rule(P.BUILD, Scope.FIRST_MESSAGE),
    LEDGER + "GetBuild": Rule(P.READ, Scope.RESOURCE, owners=_build),
    LEDGER + "ListBuilds": Rule(P.READ, Scope.FIELD),
    LEDGER + "StreamBuildLogs": Rule(P.READ, Scope.RESOURCE, owners=_build),
    LEDGER + "GetRelease": Rule(P.READ, Scope.RESOURCE, owners=_release),
    LEDGER + "ListReleases": Rule(P.READ, Scope.FIELD),
    LEDGER + "DiffReleases": Rule(P.READ, Scope.RESOURCE, owners=_diff),
    LEDGER + "PromoteRelease": Rule(P.DEPLOY, Scope.FIELD),
    LEDGER + "RollbackRelease": Rule(P.DEPLOY, Scope.FIELD),
    LEDGER + "GetPromotion": Rule(P.READ, Scope.RESOURCE, owners=_promotion),
    LEDGER + "ListPromotions": Rule(P.READ, Scope.FIELD),
    LEDGER + "CancelPromotion": Rule(P.DEPLOY, Scope.FIELD),
    LEDGER + "GetEnv": Rule(P.READ, Scope.FIELD),  # values only with REVEAL_ENV
    LEDGER + "UpdateEnv": Rule(P.CHANGE_ENV, Scope.FIELD),
    LEDGER + "GetActiveRelease": Rule(P.READ, Scope.FIELD),
    LEDGER + "ListEvents": Rule(P.READ_LOG, Scope.FILTER),
    LEDGER + "WatchEvents": Rule(P.READ_LOG, Scope.FILTER),
    LEDGER + "ListRackReleases": Rule(P.READ),
    # Audit: proofs and exports cover the whole log, so they are for keys of every app.
    LEDGER + "GetCheckpoint": Rule(P.AUDIT),
    LEDGER + "GetInclusionProof": Rule(P.AUDIT),
    LEDGER + "GetConsistencyProof": Rule(P.AUDIT),
    LEDGER + "ExportEvents": Rule(P.AUDIT),
    KEYS + "CreateKey": Rule(P.MANAGE_KEYS),
    KEYS + "ListKeys": Rule(P.MANAGE_KEYS),
    KEYS + "RevokeKey": Rule(P.MANAGE_KEYS),
    KEYS + "WhoAmI": Rule(None),
}
ADMIN_ONLY = Rule(None, admin_only=True)
"""The rule of a method missing from :data:`RULES`."""


def service_of(method: str) -> str:
    """``grpc.health.v1.Health`` of ``/grpc.health.v1.Health/Check``."""
    return method.lstrip("/").partition("/")[0]


def is_open(method: str) -> bool:
    """Methods served without a token: gRPC health checking and reflection."""
    return service_of(method) in OPEN_SERVICES


def rule_for(method: str) -> Rule:
    return RULES.get(method, ADMIN_ONLY)
