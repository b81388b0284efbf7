"""The client's calls of the ``ledger.v1.Keys`` service: API keys and who the caller is.

Apart from :class:`~cli.client.LedgerClient` (which inherits them) because they go to a
service of their own, through :attr:`~cli.client_base.ClientBase.keys_stub`, and name no
app: they serve ``ledgerctl keys`` and ``whoami``, not a deploy.
"""

from __future__ import annotations

from collections.abc import Sequence

from cli.client_base import ClientBase, paginate
from cli.transport import new_request_id
from ledger_api.v1 import ledger_pb2 as pb


class KeyCalls(ClientBase):
    """Typed calls of the Keys service, with the transport's rules."""

    # ------------------------------------------------------------------ keys

    def create_key(self, name: str, role: str, apps: Sequence[str]) -> pb.CreateKeyResponse:
        request = pb.CreateKeyRequest(
            name=name, role=role, apps=list(apps), request_id=new_request_id()
        )
        return self.transport.unary(self.keys_stub.CreateKey, request, pb.CreateKeyResponse)

    def list_keys(self, limit: int, include_revoked: bool = False) -> list[pb.Key]:
        def fetch(size: int, token: str) -> tuple[Sequence[pb.Key], str]:
            request = pb.ListKeysRequest(
                page_size=size, page_token=token, include_revoked=include_revoked
            )
            page = self.transport.unary(self.keys_stub.ListKeys, request, pb.ListKeysResponse)
            return page.keys, page.next_page_token

        return paginate(fetch, limit)

    def revoke_key(self, key_id: str) -> pb.Key:
        request = pb.RevokeKeyRequest(id=key_id, request_id=new_request_id())
        return self.transport.unary(self.keys_stub.RevokeKey, request, pb.Key)

    def whoami(self) -> pb.Key:
        return self.transport.unary(self.keys_stub.WhoAmI, pb.WhoAmIRequest(), pb.Key)
