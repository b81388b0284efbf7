"""The environment: GetEnv and UpdateEnv (set / unset / replace, optimistic concurrency)."""

from __future__ import annotations

from typing import Any

from ledger import commands
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import meta_of
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.interceptor import principal_of
from server.grpc.servicers.base import ServicerBase


class EnvServicer(ServicerBase):
    """The env head (values masked unless revealed, by the read side's rule) and edits."""

    @rpc
    async def GetEnv(self, request: pb.GetEnvRequest, context: Any) -> pb.Env:
        queries = self.backend.queries
        principal = principal_of(context)
        state = await self.backend.run(queries.env, principal, request.app, reveal=request.reveal)
        return convert.env(state)

    @rpc
    async def UpdateEnv(self, request: pb.UpdateEnvRequest, context: Any) -> pb.UpdateEnvResponse:
        meta = meta_of(principal_of(context), request.request_id)
        command = commands.UpdateEnv(
            app=request.app,
            set_values=dict(request.set),
            unset=tuple(request.unset),
            replace=request.replace,
            expected_version=(
                int(request.expected_version) if request.HasField("expected_version") else None
            ),
            promote=request.promote,
            base_release_id=request.base_release_id,
            description=request.description,
        )
        outcome = await self.backend.execute(self.backend.service.update_env, command, meta)
        response = pb.UpdateEnvResponse(
            env_version=outcome.env_version,
            added=outcome.added,
            changed=outcome.changed,
            removed=outcome.removed,
        )
        backend, queries = self.backend, self.backend.queries
        if outcome.release_id:
            release = await backend.written(
                outcome.position, lambda: backend.run(queries.release, "", outcome.release_id)
            )
            response.release.CopyFrom(convert.release(release))
        if outcome.promotion_id:
            promotion = await backend.written(
                outcome.position, lambda: backend.run(queries.promotion, "", outcome.promotion_id)
            )
            response.promotion.CopyFrom(convert.promotion_message(promotion))
        return response
