"""Each gRPC method as the action it asks of the ledger, and where its request names the app.

A translation table, not a rule: whether a key may take an action on an app is
:mod:`ledger.policy`'s answer, the same one the console gets. The interceptor
(:mod:`server.grpc.interceptor`) finds the method's :class:`Method`, reads the app from the
request as it says, and asks the policy. The app is found:

- ``FIELD``: in a request field (``app`` or ``name``);
- ``FILTER``: in the optional ``app`` filter of a log read; without one the request is
  about every app, which only keys for every app (admin, auditor) may read: app-limited
  keys must filter by one of their apps (refused, not silently narrowed);
- ``RESOURCE``: in the optional ``app`` field, else it is the app of the build, release
  or promotion named by id, looked up before the call (so a reader of one app cannot read
  another app's build by its id);
- ``FIRST_MESSAGE``: in the metadata that opens a client stream (CreateBuild);
- ``NONE``: the action concerns no single app (creating apps, keys, audit proofs, the
  apps a key may list, who a key is).

Methods of our services missing from the table ask :attr:`Action.ADMINISTER` (admin keys
only: fail closed); gRPC health checking and reflection need no token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ledger.ids import BUILD, JOB, PROMOTION, RELEASE, is_id
from ledger.policy import Action
from ledger.read_model import ReadModel
from ledger.workflows.settings import WORKFLOW_NAME

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
class Method:
    """What one RPC asks: ``action`` on the app found by ``scope`` (in ``field``)."""

    action: Action
    scope: Scope = Scope.NONE
    field: str = "app"
    owners: Owners | None = None


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


def _workflow(reader: ReadModel, request: Any) -> list[str]:
    """The apps a workflow deploys, and those a create or an update would make it deploy."""
    view = reader.get_workflow(request.name) if WORKFLOW_NAME.fullmatch(request.name) else None
    apps = set(view.apps) if view is not None else set()
    settings = getattr(request, "settings", None)
    if settings is not None:
        apps |= set(settings.apps)
    return sorted(apps)


def _resume(reader: ReadModel, request: Any) -> list[str]:
    return [request.app] if request.app else _workflow(reader, request)


def _no_owner(reader: ReadModel, request: Any) -> list[str]:
    """No app named: the query itself keeps to the apps the key may read."""
    return []


def _job(reader: ReadModel, request: Any) -> list[str]:
    view = reader.get_job(request.id) if is_id(JOB, request.id) else None
    return list(view.apps) if view is not None else []


WORKFLOW = Scope.RESOURCE  # the request names no app: those of the workflow (or job) decide

A = Action
METHODS: dict[str, Method] = {
    LEDGER + "CreateApp": Method(A.CREATE_APP),
    LEDGER + "GetApp": Method(A.READ, Scope.FIELD, "name"),
    LEDGER + "GetAppAt": Method(A.READ, Scope.FIELD, "name"),
    LEDGER + "ListApps": Method(A.LIST_APPS),
    LEDGER + "UpdateApp": Method(A.CONFIGURE_APP, Scope.FIELD, "name"),
    LEDGER + "CreateBuild": Method(A.BUILD, Scope.FIRST_MESSAGE),
    LEDGER + "GetBuild": Method(A.READ, Scope.RESOURCE, owners=_build),
    LEDGER + "ListBuilds": Method(A.READ, Scope.FIELD),
    LEDGER + "StreamBuildLogs": Method(A.READ, Scope.RESOURCE, owners=_build),
    LEDGER + "GetRelease": Method(A.READ, Scope.RESOURCE, owners=_release),
    LEDGER + "ListReleases": Method(A.READ, Scope.FIELD),
    LEDGER + "DiffReleases": Method(A.READ, Scope.RESOURCE, owners=_diff),
    LEDGER + "PromoteRelease": Method(A.PROMOTE, Scope.FIELD),
    LEDGER + "RollbackRelease": Method(A.ROLLBACK, Scope.FIELD),
    LEDGER + "GetPromotion": Method(A.READ, Scope.RESOURCE, owners=_promotion),
    LEDGER + "ListPromotions": Method(A.READ, Scope.FIELD),
    LEDGER + "CancelPromotion": Method(A.CANCEL_PROMOTION, Scope.FIELD),
    LEDGER + "GetEnv": Method(A.READ, Scope.FIELD),  # values: REVEAL_ENV, asked by the query
    LEDGER + "UpdateEnv": Method(A.CHANGE_ENV, Scope.FIELD),
    LEDGER + "GetActiveRelease": Method(A.READ, Scope.FIELD),
    LEDGER + "ListEvents": Method(A.READ_LOG, Scope.FILTER),
    LEDGER + "WatchEvents": Method(A.READ_LOG, Scope.FILTER),
    LEDGER + "ListRackReleases": Method(A.READ_RACK),
    LEDGER + "GetCheckpoint": Method(A.AUDIT),
    LEDGER + "GetInclusionProof": Method(A.AUDIT),
    LEDGER + "GetConsistencyProof": Method(A.AUDIT),
    LEDGER + "ExportEvents": Method(A.AUDIT),
    LEDGER + "CreateWorkflow": Method(A.MANAGE_WORKFLOWS, WORKFLOW, owners=_workflow),
    LEDGER + "GetWorkflow": Method(A.READ, WORKFLOW, owners=_workflow),
    LEDGER + "ListWorkflows": Method(A.LIST_APPS),  # those of the apps the key may read
    LEDGER + "UpdateWorkflow": Method(A.MANAGE_WORKFLOWS, WORKFLOW, owners=_workflow),
    LEDGER + "DeleteWorkflow": Method(A.MANAGE_WORKFLOWS, WORKFLOW, owners=_workflow),
    LEDGER + "RotateWorkflowSecret": Method(A.MANAGE_WORKFLOWS, WORKFLOW, owners=_workflow),
    LEDGER + "ResumeWorkflow": Method(A.PROMOTE, WORKFLOW, owners=_resume),
    LEDGER + "RunWorkflow": Method(A.BUILD, WORKFLOW, owners=_workflow),
    LEDGER + "GetJob": Method(A.READ, WORKFLOW, owners=_job),
    LEDGER + "ListJobs": Method(A.LIST_APPS),  # filtered by the apps the key may read
    LEDGER + "RerunJob": Method(A.BUILD, WORKFLOW, owners=_job),
    LEDGER + "RunCommand": Method(A.RUN_COMMAND, Scope.FIELD),
    LEDGER + "ListTasks": Method(A.READ, Scope.FIELD),
    LEDGER + "GetDeployMetrics": Method(A.READ, Scope.RESOURCE, owners=_no_owner),
    LEDGER + "CreateNotificationTarget": Method(A.MANAGE_NOTIFICATIONS),
    LEDGER + "ListNotificationTargets": Method(A.MANAGE_NOTIFICATIONS),
    LEDGER + "DeleteNotificationTarget": Method(A.MANAGE_NOTIFICATIONS),
    LEDGER + "ListDeliveries": Method(A.MANAGE_NOTIFICATIONS),
    KEYS + "CreateKey": Method(A.MANAGE_KEYS),
    KEYS + "ListKeys": Method(A.MANAGE_KEYS),
    KEYS + "RevokeKey": Method(A.MANAGE_KEYS),
    KEYS + "WhoAmI": Method(A.WHO_AM_I),
}
UNLISTED = Method(A.ADMINISTER)
"""What a method missing from :data:`METHODS` asks (admin keys only)."""


def service_of(method: str) -> str:
    """``grpc.health.v1.Health`` of ``/grpc.health.v1.Health/Check``."""
    return method.lstrip("/").partition("/")[0]


def is_open(method: str) -> bool:
    """Methods served without a token: gRPC health checking and reflection."""
    return service_of(method) in OPEN_SERVICES


def method_for(method: str) -> Method:
    return METHODS.get(method, UNLISTED)
