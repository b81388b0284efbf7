"""The environment: GetEnv and UpdateEnv (set / unset / replace, optimistic concurrency)."""

from __future__ import annotations

from typing import Any

from ledger import commands
from ledger_api.v1 import ledger_pb2 as pb
from server.backend import meta_of
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.servicers.base import ServicerBase
from server.infra.authn import revealing


class EnvServicer(ServicerBase):
    """Reads the env head from the App aggregate (values are never projected)."""

    @rpc
    async def GetEnv(self, request: pb.GetEnvRequest, context: Any) -> pb.Env:
        app = await self.backend.run(self.backend.service.ledger.app, request.app)
        if revealing(app.name, request.reveal):
            return convert.env(app.name, app.env_version, app.env)
        masked = convert.env(app.name, app.env_version, dict.fromkeys(app.env, ""))
        masked.masked = True
        return masked

    @rpc
    async def UpdateEnv(self, request: pb.UpdateEnvRequest, context: Any) -> pb.UpdateEnvResponse:
        meta = meta_of(context, request.request_id)
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
        if outcome.release_id:
            release = await self.release_view("", outcome.release_id)
            response.release.CopyFrom(convert.release(release))
        if outcome.promotion_id:
            promotion = await self.promotion_view("", outcome.promotion_id)
            response.promotion.CopyFrom(convert.promotion_message(promotion))
        return response
