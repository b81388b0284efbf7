"""``GET /metrics`` in the Prometheus text format: its two HTTP ends.

With ``LEDGER_METRICS=key`` (the default) the console serves it to a deploy key's bearer
token (Prometheus's ``authorization`` scrape setting): any key that may read, and a key
limited to some apps sees only their series (auditor and admin keys see every app). With
``LEDGER_METRICS=host:port`` a tiny application of its own serves it there alone, without
auth, for a private network; the console then has no ``/metrics``. A GET with no body
changes nothing, so it needs no CSRF token. Refusals are one plain-text line.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import errors, policy
from ledger.policy import Action, Principal
from server.backend import Backend
from server.console.errors import status_of
from server.infra.authn import Authenticator, bearer_token
from server.infra.persistence import failure_summary
from server.metrics.registry import AppFilter, Metrics

log = logging.getLogger("ledgerd.metrics")

PATH = "/metrics"
# The classic text format, which every Prometheus reads (2.x and 3.x); our names need none
# of the UTF-8 escaping that the client's newer default content type announces.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CHALLENGE = {"www-authenticate": 'Bearer realm="ledger metrics"'}
NO_TOKEN = "not signed in: send the header 'Authorization: Bearer <a deploy key's token>'"


def keyed_routes(backend: Backend) -> list[BaseRoute]:
    """``/metrics`` for a deploy key's bearer token (the console's)."""

    async def metrics(request: Request) -> Response:
        try:
            principal = await _reader(backend, request.headers.get("authorization", ""))
        except Exception as error:
            return _refused(error)
        return await _scrape(backend, lambda app: policy.allows(principal, Action.READ, app))

    return [Route(PATH, metrics, methods=["GET"])]


def open_app(backend: Backend) -> Any:
    """An ASGI application serving ``/metrics`` alone, to anyone who can reach it."""

    async def metrics(request: Request) -> Response:
        return await _scrape(backend, None)

    return Starlette(routes=[Route(PATH, metrics, methods=["GET"])])


async def _reader(backend: Backend, authorization: str) -> Principal:
    """The key of the ``Authorization`` header if it may read (Unauthenticated or
    PermissionDenied otherwise)."""
    metadata = [("authorization", authorization)]
    if not bearer_token(metadata):
        raise errors.Unauthenticated(NO_TOKEN)
    digest = Authenticator.digest_of(metadata)
    principal = await backend.principal(digest)
    policy.check_granted(principal, Action.READ)
    return principal


async def _scrape(backend: Backend, may_read: AppFilter | None) -> Response:
    metrics: Metrics = backend.container.metrics
    try:
        body = await backend.run(metrics.render, may_read)
    except Exception as error:
        return _refused(error)
    return Response(body, media_type=CONTENT_TYPE)


def _refused(error: Exception) -> Response:
    """The one-line answer to a failed scrape: the ledger error's status and message, 503
    for a database that cannot answer, else 500 (the details are logged, never sent)."""
    if isinstance(error, errors.LedgerError):
        status = status_of(error)
        return _refusal(status, str(error), CHALLENGE if status == 401 else None)
    known = failure_summary(error)
    if known is not None:
        return _refusal(503, f"metrics unavailable: {known}")
    log.error("collecting the metrics failed", exc_info=error)
    return _refusal(500, "collecting the metrics failed: the server logged the details")


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)
