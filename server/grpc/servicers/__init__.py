"""The ``ledger.v1.Ledger`` servicer, assembled from one part per resource family, and
the ``ledger.v1.Keys`` servicer."""

from __future__ import annotations

from ledger_api.v1 import ledger_pb2_grpc
from server.grpc.servicers.apps import AppsServicer
from server.grpc.servicers.audit import AuditServicer
from server.grpc.servicers.commands import CommandsServicer
from server.grpc.servicers.env import EnvServicer
from server.grpc.servicers.events import EventsServicer
from server.grpc.servicers.keys import KeysServicer
from server.grpc.servicers.metrics import MetricsServicer
from server.grpc.servicers.notifications import NotificationsServicer
from server.grpc.servicers.releases import ReleasesServicer
from server.grpc.servicers.tasks import TasksServicer
from server.grpc.servicers.workflows import WorkflowsServicer


class LedgerServicer(
    AppsServicer,
    ReleasesServicer,
    EnvServicer,
    EventsServicer,
    AuditServicer,
    WorkflowsServicer,
    CommandsServicer,
    TasksServicer,
    MetricsServicer,
    NotificationsServicer,
    ledger_pb2_grpc.LedgerServicer,
):
    """Every RPC of ``ledger.v1.Ledger`` on grpc.aio; the parts share one backend."""


__all__ = ["KeysServicer", "LedgerServicer"]
