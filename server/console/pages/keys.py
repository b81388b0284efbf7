"""Deploy keys, for admins: the list, creating a key (its token shown once), revoking one.

Every action is the ``ledger.v1.Keys`` RPC it is equivalent to, admitted by that RPC's
rule (``Keys/ListKeys``, ``Keys/CreateKey``, ``Keys/RevokeKey``: admin keys only) and
running what :class:`server.grpc.servicers.keys.KeysServicer` runs: the same use cases of
:class:`ledger.keys.KeyService`, whose own checks (name, role, apps, the last admin key)
refuse what the ledger refuses; the error boundary renders the refusals.

The token of a new key is a secret shown exactly once: in the body of the answer to the
POST that created it, with ``Cache-Control: no-store``; never in a URL (the answer is not
a redirect), never logged, never on the list afterwards (the read model does not have it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import commands
from ledger.domain.key import Role
from ledger.keys import check_key_id
from ledger.policy import Action
from ledger.queries import Queries
from ledger.views import KeyView
from server.backend import meta_of
from server.console.context import Console
from server.console.pages.common import form, query_number, signed_in

PAGE_SIZE = 50
APP_SEPARATORS = re.compile(r"[\s,]+")
ROLES = tuple(role.value for role in Role)


@dataclass(frozen=True)
class KeyPage:
    """One page of the list: keys newest first, and the cursor of the next (older) page
    (0: none)."""

    keys: list[KeyView]
    older: int


def newest_keys(queries: Queries, before: int, include_revoked: bool, limit: int) -> KeyPage:
    """The ``limit`` newest keys created before position ``before`` (0: no bound);
    blocking: run it off the event loop."""
    found = queries.newest_keys(before, limit + 1, include_revoked)
    shown = found[:limit]
    older = shown[-1].position if len(found) > limit else 0
    return KeyPage(shown, older)


def parse_apps(raw: str) -> tuple[str, ...]:
    """The apps typed in the form, split on commas and spaces (checked by the domain)."""
    return tuple(app for app in APP_SEPARATORS.split(raw.strip()) if app)


async def key_of(console: Console, raw_id: str) -> KeyView:
    """The key named in the URL (INVALID_ARGUMENT for a malformed id, NOT_FOUND if none)."""
    view: KeyView = await console.run(console.queries.key, check_key_id(raw_id))
    return view


async def keys_page(request: Request) -> Response:
    """The keys, newest first (``?revoked=1``: revoked ones too; ``?before=``: older)."""
    console, principal = await signed_in(request)
    console.allow(principal, Action.MANAGE_KEYS)
    query = dict(request.query_params)
    before = query_number(query, "before")
    include_revoked = query.get("revoked", "") == "1"
    page: KeyPage = await console.run(
        newest_keys, console.queries, before, include_revoked, PAGE_SIZE
    )
    context = {
        "keys": page.keys,
        "older": page.older,
        "before": before,
        "include_revoked": include_revoked,
        "roles": ROLES,
    }
    return console.render(request, "keys.html", context, principal=principal)


async def create_key(request: Request) -> Response:
    """Create a key as CreateKey does, and answer with its token (this once only)."""
    console, principal = await signed_in(request)
    # Admitted by the policy before the form is even read: a forged form from a key
    # that may not manage keys is refused here.
    console.allow(principal, Action.MANAGE_KEYS)
    values = await form(request)
    command = commands.CreateKey(
        name=values.get("name", "").strip(),
        role=values.get("role", "").strip(),
        apps=parse_apps(values.get("apps", "")),
    )
    meta = meta_of(principal, values.get("request_id", ""))
    keys = console.backend.container.keys
    created = await console.run(keys.create_key, command, meta)
    await console.backend.caught_up(created.outcome.position)
    view = await key_of(console, created.outcome.key_id)
    # created.token is "" when this form was sent before: its token went to that answer.
    context = {"key": view, "token": created.token}
    response = console.render(request, "keys_created.html", context, principal=principal)
    response.headers["Cache-Control"] = "no-store"  # the token stays out of every cache
    return response


async def confirm_revoke_page(request: Request) -> Response:
    """What revoking a key will do, before it is done."""
    console, principal = await signed_in(request)
    console.allow(principal, Action.MANAGE_KEYS)
    view = await key_of(console, request.path_params["id"])
    context = {"key": view, "own": view.id == principal.key_id}
    return console.render(request, "keys_revoke.html", context, principal=principal)


async def revoke_key(request: Request) -> Response:
    """Revoke a key as RevokeKey does; its sessions end at their next request."""
    console, principal = await signed_in(request)
    console.allow(principal, Action.MANAGE_KEYS)
    key_id = check_key_id(request.path_params["id"])
    values = await form(request)
    keys = console.backend.container.keys
    command = commands.RevokeKey(key_id=key_id)
    await console.execute(principal, keys.revoke_key, command, values.get("request_id", ""))
    # Here at once (other ledgerd by the KeyRevoked event): every console request looks
    # its key up again, so the key's sessions end at their next page.
    console.backend.authenticator.forget(key_id)
    return RedirectResponse(f"/keys?revoked=1#key-{key_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/keys", keys_page, methods=["GET"]),
    Route("/keys", create_key, methods=["POST"]),
    Route("/keys/{id}/revoke", confirm_revoke_page, methods=["GET"]),
    Route("/keys/{id}/revoke", revoke_key, methods=["POST"]),
]
