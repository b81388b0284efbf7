"""Admission of a caller: the key behind a token, and whether its rule allows a request.

Shared by both entrypoints, so that a rule is written once: the gRPC interceptor
(``server/grpc/interceptor.py``) checks each RPC against its rule in
:data:`server.grpc.methods.RULES`, and the web console checks each action against the rule
of the RPC it is equivalent to (promoting in the console is ``PromoteRelease``).
"""

from __future__ import annotations

from typing import Any

from ledger.access import Principal, Role
from ledger.errors import PermissionDenied, Unauthenticated
from server.backend import Backend
from server.grpc.methods import Rule, Scope
from server.infra.authn import BAD_TOKEN, Authenticator


class Guard:
    """Authenticates a call and checks its rule; raises the ledger's errors."""

    def __init__(self, backend: Backend, authenticator: Authenticator) -> None:
        self.backend = backend
        self.authenticator = authenticator

    async def principal(self, digest: str) -> Principal:
        """The valid key whose token has SHA-256 ``digest`` (Unauthenticated if none)."""
        principal = self.authenticator.cached(digest)
        if principal is None:
            principal = await self.backend.run(self.authenticator.lookup, digest)
        if principal is None:
            raise Unauthenticated(BAD_TOKEN)
        return principal

    async def authorize(self, principal: Principal, method: str, rule: Rule, request: Any) -> None:
        """Raise PermissionDenied unless ``rule`` lets ``principal`` make ``request``."""
        app = getattr(request, rule.field, "") if rule.scope is not Scope.NONE else ""
        permission = rule.permission
        if (
            permission is not None
            and not rule.admin_only
            and rule.scope is Scope.RESOURCE
            and not app
            and not principal.all_apps
            and rule.owners
        ):
            # Named by id only: authorise by the app(s) the resource belongs to.
            owners = await self.backend.run(rule.owners, self.backend.reader, request)
            principal.check_role(permission)  # unknown id: the servicer says NOT_FOUND
            for owner in owners:
                principal.check(permission, owner)
            return
        admit(principal, method, rule, app)


def admit(principal: Principal, method: str, rule: Rule, app: str = "") -> None:
    """Raise PermissionDenied unless ``rule`` lets ``principal`` act on ``app`` (the app the
    request names; unused by rules of no particular app)."""
    if rule.admin_only:
        if principal.role != Role.ADMIN:
            name = method.rsplit("/", 1)[-1]
            raise PermissionDenied(f"permission denied: {principal.describe()} may not call {name}")
        return
    permission = rule.permission
    if permission is None:
        return
    if rule.scope is Scope.NONE:
        principal.check_role(permission)
        return
    principal.check(permission, app)
