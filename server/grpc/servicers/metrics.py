"""Deploy metrics: GetDeployMetrics (``ledgerctl apps metrics``).

Translation only: the query is :meth:`~ledger.queries.deploy_metrics.DeployMetricQueries
.deploy_metrics`'s. The interceptor has admitted the key for ``read`` on the app when one
is named; without one the query pools the apps the key may read.
"""

from __future__ import annotations

from typing import Any

from ledger_api.v1 import ledger_pb2 as pb
from server.grpc.convert import optional_time
from server.grpc.convert_metrics import deploy_metrics
from server.grpc.errors import rpc
from server.grpc.interceptor import principal_of
from server.grpc.servicers.base import ServicerBase


class MetricsServicer(ServicerBase):
    """The four DORA metrics of an app, or of every app the key may read."""

    @rpc
    async def GetDeployMetrics(
        self, request: pb.GetDeployMetricsRequest, context: Any
    ) -> pb.DeployMetrics:
        metrics = await self.backend.run(
            self.backend.queries.deploy_metrics,
            principal_of(context),
            request.app,
            period=request.period,
            days=request.days,
            until=optional_time(request, "until"),
        )
        return deploy_metrics(request.app, metrics)
