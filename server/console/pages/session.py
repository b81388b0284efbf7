"""Signing in with a deploy key's token, and signing out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger.errors import Unauthenticated
from ledger.keys import looks_like_token, token_hash
from server.console.pages.common import console_of, form
from server.console.sessions import COOKIE, LIFETIME_SECONDS
from server.infra.authn import BAD_TOKEN

NOT_A_TOKEN = "That is not a deploy key token: tokens start with dl_."


def safe_next(target: str) -> str:
    """Where to go after signing in: a path of this console only (never another site)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def sign_in_page(request: Request) -> Response:
    console = console_of(request)
    context = {
        "next": safe_next(request.query_params.get("next", "/")),
        "message": request.query_params.get("message", "")[:200],
    }
    return console.render(request, "sign_in.html", context)


async def sign_in(request: Request) -> Response:
    console = console_of(request)
    values = await form(request)
    token = values.get("token", "").strip()
    target = safe_next(values.get("next", "/"))
    try:
        if not looks_like_token(token):
            raise Unauthenticated(NOT_A_TOKEN)
        digest = token_hash(token)
        await console.backend.principal(digest)
    except Unauthenticated as error:
        message = NOT_A_TOKEN if str(error) != BAD_TOKEN else "No valid key has this token."
        context = {"next": target, "error": message}
        return console.render(request, "sign_in.html", context, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        console.sessions.open(digest),
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="lax",
        secure=console.secure_cookies,
        path="/",
    )
    return response


async def sign_out(request: Request) -> Response:
    console = console_of(request)
    session_id = request.cookies.get(COOKIE, "")
    if session_id:
        console.sessions.close(session_id)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


routes: list[BaseRoute] = [
    Route("/sign-in", sign_in_page, methods=["GET"]),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
]
