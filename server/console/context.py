"""What every console handler shares: who is signed in, what they may do, and the use cases.

:class:`Console` is built once per ``ledgerd`` beside the gRPC server and holds the same
:class:`~server.backend.Backend` (use cases, read model, thread pool, read-your-writes)
and :class:`~server.guard.Guard` (keys and rules). A console action names the RPC it is
equivalent to; its rule in :data:`server.grpc.methods.RULES` decides both whether the
button is shown (:meth:`Console.may`) and whether the POST is admitted
(:meth:`Console.allow`), so a forged form is refused by the very rule the API applies.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from ledger.access import Principal
from ledger.commands import Outcome
from ledger.domain import Meta
from ledger.errors import PermissionDenied, Unauthenticated
from server.backend import Backend
from server.console.sessions import COOKIE, Sessions
from server.grpc.methods import LEDGER, rule_for
from server.guard import Guard, admit
from server.infra.authn import act_as

C = TypeVar("C")

SIGNED_OUT = "Sign in with a deploy key to continue."
REVOKED = "Your session ended: its key is no longer valid. Sign in again."


class SignInRequired(Unauthenticated):
    """No live session: the boundary sends the browser to the sign-in page."""


@dataclass
class Console:
    """The console's single dependency, built once per server."""

    backend: Backend
    guard: Guard
    sessions: Sessions
    templates: Jinja2Templates
    secure_cookies: bool = False  # the console is served over TLS

    async def user(self, request: Request) -> Principal:
        """The key the request's session signed in with; it becomes the caller (see
        :func:`server.infra.authn.current`) for the rest of the request."""
        session_id = request.cookies.get(COOKIE, "")
        digest = self.sessions.digest(session_id) if session_id else None
        if digest is None:
            raise SignInRequired(SIGNED_OUT)
        try:
            principal = await self.guard.principal(digest)
        except Unauthenticated:
            # The session stays (until it expires), so every tab says why it ended.
            raise SignInRequired(REVOKED) from None
        act_as(principal)
        return principal

    def may(self, principal: Principal, rpc: str, app: str = "") -> bool:
        """Whether ``principal`` may do what ``rpc`` does on ``app`` (decides the buttons)."""
        method = method_of(rpc)
        try:
            admit(principal, method, rule_for(method), app)
        except PermissionDenied:
            return False
        return True

    async def allow(self, principal: Principal, rpc: str, **fields: str) -> None:
        """Admit an action as the API admits ``rpc`` with a request of ``fields``
        (PermissionDenied otherwise)."""
        method = method_of(rpc)
        await self.guard.authorize(principal, method, rule_for(method), SimpleNamespace(**fields))

    async def execute(
        self,
        principal: Principal,
        handler: Callable[[C, Meta], Outcome],
        command: C,
        request_id: str = "",
    ) -> Outcome:
        """Run a use case as ``principal`` and wait until the read model shows its effect."""
        meta = Meta(actor=principal.actor, request_id=request_id)
        return await self.backend.execute(handler, command, meta)

    async def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A blocking read, off the event loop."""
        return await self.backend.run(function, *args, **kwargs)

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        principal: Principal | None = None,
    ) -> HTMLResponse:
        """A page (or fragment): ``template`` with ``context``, plus who is signed in,
        ``can(rpc, app)`` for the buttons, a fresh ``request_id`` for the forms (a form
        sent twice acts once) and the CSRF token."""
        values: dict[str, Any] = {
            "user": principal,
            "can": (lambda rpc, app="": self.may(principal, rpc, app))
            if principal is not None
            else (lambda rpc, app="": False),
            "request_id": new_request_id(),
            "csrftoken": csrf_token(request),
        }
        values.update(context or {})
        response: HTMLResponse = self.templates.TemplateResponse(
            request, template, values, status_code=status_code
        )
        return response


def method_of(rpc: str) -> str:
    """The gRPC method an action names: ``PromoteRelease`` is the Ledger service's,
    ``Keys/CreateKey`` another service's (of package ``ledger.v1``)."""
    return f"/ledger.v1.{rpc}" if "/" in rpc else LEDGER + rpc


def new_request_id() -> str:
    return "console-" + secrets.token_hex(12)


def csrf_token(request: Request) -> str:
    """The CSRF token forms must send back (asgi-csrf sets its cookie with the response)."""
    issue = request.scope.get("csrftoken")
    return str(issue()) if callable(issue) else ""
