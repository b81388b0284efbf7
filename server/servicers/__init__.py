"""The ``ledger.v1.Ledger`` servicer, assembled from one part per resource family, and
the ``ledger.v1.Keys`` servicer."""

from __future__ import annotations

from ledger_api.v1 import ledger_pb2_grpc
from server.servicers.apps import AppsServicer
from server.servicers.audit import AuditServicer
from server.servicers.env import EnvServicer
from server.servicers.events import EventsServicer
from server.servicers.keys import KeysServicer
from server.servicers.releases import ReleasesServicer


class LedgerServicer(
    AppsServicer,
    ReleasesServicer,
    EnvServicer,
    EventsServicer,
    AuditServicer,
    ledger_pb2_grpc.LedgerServicer,
):
    """Every RPC of ``ledger.v1.Ledger`` on grpc.aio; the parts share one backend."""


__all__ = ["KeysServicer", "LedgerServicer"]
