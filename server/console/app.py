"""The console's ASGI application: routes of every page module, static files, templates,
the error boundary, and CSRF protection around it all.

CSRF: asgi-csrf (double-submit: a signed token in a cookie that every form sends back as
``csrftoken``, or htmx as the ``x-csrftoken`` header) refuses any other POST with 403
before it reaches a handler. The sign-in form is protected too (``always_protect``), so
another site cannot sign a browser in with a key of its choosing.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from asgi_csrf import asgi_csrf
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from server.console import filters, metrics
from server.console.context import Console
from server.console.errors import handlers
from server.console.measured import measured, routed
from server.console.pages import PAGES
from server.hooks.endpoint import HookEndpoint
from server.infra.settings import METRICS_KEY

HOOKS_PREFIX = "/hooks/"

HERE = Path(__file__).parent
CSRF_COOKIE = "ledger_csrf"
# Scripts only from the console itself (the vendored htmx: no inline script, no eval), no
# framing (a confirmation page cannot be clickjacked), forms post only here.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def templates() -> Jinja2Templates:
    """The page templates (HTML autoescaped) with the console's formatting filters."""
    loader = Jinja2Templates(directory=HERE / "templates")
    loader.env.filters.update(filters.FILTERS)
    loader.env.globals.update(filters.GLOBALS)
    return loader


async def favicon(request: Request) -> Response:
    return FileResponse(HERE / "static" / "favicon.ico", media_type="image/x-icon")


def create_app(console: Console) -> Any:
    """The console as an ASGI application (Starlette inside asgi-csrf)."""
    routes: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        # Browsers ask for it at the root before they read a page's <link rel="icon">.
        Route("/favicon.ico", favicon, methods=["GET"]),
    ]
    for page in PAGES:
        routes.extend(page.routes)
    # Webhooks: signed by the git host, so no session and no CSRF token (see server.hooks).
    routes.extend(HookEndpoint(console.backend).routes)
    # For Prometheus: a bearer token, no session, no CSRF token (a GET changes nothing).
    if console.backend.container.settings.metrics == METRICS_KEY:
        routes.extend(metrics.keyed_routes(console.backend))
    app = Starlette(routes=routes, exception_handlers=handlers(console))
    app.state.console = console
    protected = asgi_csrf(
        routed(app),
        cookie_name=CSRF_COOKIE,
        signing_secret=secrets.token_hex(32),
        always_protect={"/sign-in"},
        skip_if_scope=lambda scope: scope["path"].startswith(HOOKS_PREFIX),
        cookie_secure=console.secure_cookies,
        cookie_samesite="Strict",
    )
    # Outermost, so that requests refused before routing (CSRF) are counted too.
    return measured(
        with_headers(protected, SECURITY_HEADERS), console.backend.container.metrics.requests
    )


def with_headers(app: Any, headers: list[tuple[bytes, bytes]]) -> Any:
    """``app`` with ``headers`` added to every HTTP response it starts."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
