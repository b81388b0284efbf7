"""The ``ledger.v1.Keys`` service: CreateKey, ListKeys, RevokeKey, WhoAmI.

Admission (admin-only, except WhoAmI) is the interceptor's; this only runs the use cases.
No response ever carries a token hash, and a token only once: in the answer to the
CreateKey call that made it.
"""

from __future__ import annotations

from typing import Any

from ledger import commands
from ledger.keys import check_key_id
from ledger.views import KeyView
from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1 import ledger_pb2_grpc
from server.backend import Backend, meta_of
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.interceptor import principal_of
from server.grpc.paging import int_cursor, page_request, paginate


def key_message(view: KeyView) -> pb.Key:
    return pb.Key(
        id=view.id,
        name=view.name,
        role=view.role,
        apps=list(view.apps),
        created_at=convert.timestamp(view.created_at),
        actor=view.actor,
        revoked_at=convert.timestamp(view.revoked_at),
        revoked_by=view.revoked_by,
    )


class KeysServicer(ledger_pb2_grpc.KeysServicer):
    """Deploy keys: managed by admin keys; every key may ask who it is."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @rpc
    async def CreateKey(self, request: pb.CreateKeyRequest, context: Any) -> pb.CreateKeyResponse:
        meta = meta_of(principal_of(context), request.request_id)
        command = commands.CreateKey(name=request.name, role=request.role, apps=tuple(request.apps))
        keys = self.backend.container.keys
        created = await self.backend.run(keys.create_key, command, meta)
        await self.backend.caught_up(created.outcome.position)
        view = await self._key(created.outcome.key_id)
        return pb.CreateKeyResponse(key=key_message(view), token=created.token)

    @rpc
    async def ListKeys(self, request: pb.ListKeysRequest, context: Any) -> pb.ListKeysResponse:
        scope = ["ListKeys", request.include_revoked]
        paging = page_request(request.page_size, request.page_token, scope)
        views = await self.backend.run(
            self.backend.queries.keys,
            int_cursor(paging),
            paging.size + 1,
            request.include_revoked,
        )
        page = paginate(paging, views, lambda view: view.position)
        return pb.ListKeysResponse(
            keys=[key_message(view) for view in page.items], next_page_token=page.next_page_token
        )

    @rpc
    async def RevokeKey(self, request: pb.RevokeKeyRequest, context: Any) -> pb.Key:
        meta = meta_of(principal_of(context), request.request_id)
        check_key_id(request.id)
        command = commands.RevokeKey(key_id=request.id)
        outcome = await self.backend.execute(self.backend.container.keys.revoke_key, command, meta)
        self.backend.authenticator.forget(request.id)  # here at once; other processes by the event
        return key_message(await self._key(outcome.key_id))

    @rpc
    async def WhoAmI(self, request: pb.WhoAmIRequest, context: Any) -> pb.Key:
        return key_message(await self._key(principal_of(context).key_id))

    async def _key(self, key_id: str) -> KeyView:
        return await self.backend.run(self.backend.queries.key, key_id)
