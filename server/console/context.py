"""What every console handler shares: who is signed in, what they may do, and the backend.

:class:`Console` is built once per ``ledgerd`` beside the gRPC server and holds the same
:class:`~server.backend.Backend` (use cases, queries, thread pool, read-your-writes, the
key behind a token). A page or a button stands for an :class:`~ledger.policy.Action`;
the policy decides both whether the button is shown (:meth:`Console.may`) and whether
the request is admitted (:meth:`Console.allow`), so a forged form is refused by the very
rule the API applies.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from ledger import policy
from ledger.commands import Outcome
from ledger.domain import Meta
from ledger.errors import Unauthenticated
from ledger.policy import Action, Principal
from ledger.queries import Queries
from server.backend import Backend, meta_of
from server.console.sessions import COOKIE, Sessions

C = TypeVar("C")

SIGNED_OUT = "Sign in with a deploy key to continue."
REVOKED = "Your session ended: its key is no longer valid. Sign in again."


class SignInRequired(Unauthenticated):
    """No live session: the boundary sends the browser to the sign-in page."""


@dataclass
class Console:
    """The console's single dependency, built once per server."""

    backend: Backend
    sessions: Sessions
    templates: Jinja2Templates
    secure_cookies: bool = False  # the console is served over TLS

    @property
    def queries(self) -> Queries:
        return self.backend.queries

    async def user(self, request: Request) -> Principal:
        """The key the request's session signed in with (remembered on the request, so
        that an error page still shows who is signed in)."""
        session_id = request.cookies.get(COOKIE, "")
        digest = self.sessions.digest(session_id) if session_id else None
        if digest is None:
            raise SignInRequired(SIGNED_OUT)
        try:
            principal = await self.backend.principal(digest)
        except Unauthenticated:
            # The session stays (until it expires), so every tab says why it ended.
            raise SignInRequired(REVOKED) from None
        request.state.principal = principal
        return principal

    @staticmethod
    def may(principal: Principal, action: Action, app: str = "") -> bool:
        """Whether ``principal`` may take ``action`` on ``app`` (decides the buttons)."""
        return policy.allows(principal, action, app)

    @staticmethod
    def allow(principal: Principal, action: Action, app: str = "") -> None:
        """Admit a request for ``action`` on ``app`` as the API would (PermissionDenied)."""
        policy.check(principal, action, app)

    async def execute(
        self,
        principal: Principal,
        handler: Callable[[C, Meta], Outcome],
        command: C,
        request_id: str = "",
    ) -> Outcome:
        """Run a use case as ``principal`` and wait until the read model shows its effect."""
        return await self.backend.execute(handler, command, meta_of(principal, request_id))

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
        ``can(action, app)`` for the buttons, a fresh ``request_id`` for the forms (a form
        sent twice acts once) and the CSRF token."""
        values: dict[str, Any] = {
            "user": principal,
            "can": (lambda action, app="": self.may(principal, Action(action), app))
            if principal is not None
            else (lambda action, app="": False),
            "request_id": new_request_id(),
            "csrftoken": csrf_token(request),
        }
        values.update(context or {})
        response: HTMLResponse = self.templates.TemplateResponse(
            request, template, values, status_code=status_code
        )
        return response


def new_request_id() -> str:
    return "console-" + secrets.token_hex(12)


def csrf_token(request: Request) -> str:
    """The CSRF token forms must send back (asgi-csrf sets its cookie with the response)."""
    issue = request.scope.get("csrftoken")
    return str(issue()) if callable(issue) else ""
