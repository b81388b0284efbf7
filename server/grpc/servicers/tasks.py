"""What runs: ListTasks (``ledgerctl ps``).

Translation only: the query is :meth:`~ledger.queries.tasks.TaskQueries.tasks`'s (the app
must exist; the interceptor has admitted the key for the ``read`` action on it). It
waits on the runtime's engine, so it runs in the backend's threads like every query.
"""

from __future__ import annotations

from typing import Any

from ledger_api.v1 import ledger_pb2 as pb
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.servicers.base import ServicerBase


class TasksServicer(ServicerBase):
    """Where an app's tasks run, as the runtime reports them now."""

    @rpc
    async def ListTasks(self, request: pb.ListTasksRequest, context: Any) -> pb.ListTasksResponse:
        placements = await self.backend.run(self.backend.queries.tasks, request.app)
        return pb.ListTasksResponse(tasks=[convert.task(placement) for placement in placements])
