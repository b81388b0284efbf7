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
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from server.console import filters
from server.console.context import Console
from server.console.errors import handlers
from server.console.pages import PAGES

HERE = Path(__file__).parent
CSRF_COOKIE = "ledger_csrf"


def templates() -> Jinja2Templates:
    """The page templates (HTML autoescaped) with the console's formatting filters."""
    loader = Jinja2Templates(directory=HERE / "templates")
    loader.env.filters.update(filters.FILTERS)
    loader.env.globals.update(filters.GLOBALS)
    return loader


def create_app(console: Console) -> Any:
    """The console as an ASGI application (Starlette inside asgi-csrf)."""
    routes: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static")
    ]
    for page in PAGES:
        routes.extend(page.routes)
    app = Starlette(routes=routes, exception_handlers=handlers(console))
    app.state.console = console
    return asgi_csrf(
        app,
        cookie_name=CSRF_COOKIE,
        signing_secret=secrets.token_hex(32),
        always_protect={"/sign-in"},
        cookie_secure=console.secure_cookies,
        cookie_samesite="Strict",
    )
