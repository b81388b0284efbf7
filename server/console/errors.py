"""The console's one error boundary: ledger errors become pages with the right status.

Handlers raise the ledger's exceptions (:mod:`ledger.errors`) like the use cases do; this
module is the only place they are turned into HTTP: a page saying what went wrong (the
messages are secret-free by construction), or, without a live session, a redirect to the
sign-in page that comes back afterwards. htmx requests get the redirect as ``HX-Redirect``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ledger import errors
from ledger.policy import Principal
from server.console.context import Console, SignInRequired

STATUS_OF: dict[type[errors.LedgerError], int] = {
    errors.InvalidArgument: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.FailedPrecondition: 409,
    errors.IntegrityCompromised: 409,  # writes refused until an operator acts
    errors.Conflict: 409,
    errors.Unavailable: 503,
    errors.DiskFull: 507,
}
SIGNED_OUT_EVENT = "retry: 60000\nevent: signed-out\ndata: {}\n\n"
TITLES = {
    400: "Invalid request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Refused",
    503: "Unavailable",
    507: "Disk full",
}


def status_of(error: errors.LedgerError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 500


def sign_in_redirect(request: Request, message: str = "") -> Response:
    if "text/event-stream" in request.headers.get("accept", ""):
        # An event stream cannot be redirected: tell the page (it then asks for a page,
        # gets the redirect) and make the browser wait before it reconnects.
        return Response(SIGNED_OUT_EVENT, media_type="text/event-stream")
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or request.headers.get("hx-request"):
        target = request.headers.get("hx-current-url", "") or "/"
    location = f"/sign-in?next={quote(target, safe='')}"
    if message:
        location += f"&message={quote(message, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def signed_in(request: Request) -> Principal | None:
    """Who the failed request was made by, if it got that far (for the page's header)."""
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else None


def handlers(console: Console) -> dict[Any, Any]:
    """Starlette exception handlers for the ledger's errors and plain HTTP ones."""

    async def ledger_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, errors.LedgerError)
        if isinstance(error, SignInRequired):
            return sign_in_redirect(request, str(error))
        status = status_of(error)
        return page(request, status, str(error))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return page(request, error.status_code, error.detail)

    def page(request: Request, status: int, message: str) -> Response:
        template = "_error.html" if request.headers.get("hx-request") else "error.html"
        context = {"title": TITLES.get(status, "Error"), "message": message, "status": status}
        return console.render(request, template, context, status, signed_in(request))

    return {errors.LedgerError: ledger_error, HTTPException: http_error}
