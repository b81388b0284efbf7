"""The webhook endpoint: ``POST /hooks/<workflow>`` on the console's port.

No session and no CSRF token: the signature is the authentication. In order, before
anything is recorded: the body is read up to a size limit (413 past it), the host is
recognised from its headers (400), the workflow is found (404), the signature is
checked on the raw body in constant time (401), and only then is the payload parsed
(400 if malformed). Each refusal records nothing: it is counted and logged, without the
secret or the signature. An accepted delivery is recorded with what it started; one
seen before is answered 200 and does nothing. Translation only: what a delivery starts
is :mod:`ledger.workflows.triggering`'s.
"""

from __future__ import annotations

import logging
from collections import Counter

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ledger.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated
from ledger.workflows.commands import acting_as
from ledger.workflows.settings import check_workflow_name
from server.backend import Backend
from server.hooks.providers import MAX_BODY_BYTES, parse, provider_of, verify

log = logging.getLogger("ledgerd.hooks")


class TooLarge(Exception):
    """The body passed :data:`MAX_BODY_BYTES`."""


class HookEndpoint:
    """Receives deliveries for every workflow; ``rejected`` counts refusals by reason."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.rejected: Counter[str] = Counter()

    @property
    def routes(self) -> list[Route]:
        return [Route("/hooks/{workflow}", self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> Response:
        name = request.path_params["workflow"]
        try:
            body = await _body(request)
            provider = provider_of(request.headers)
            check_workflow_name(name)
            service = self.backend.container.workflows
            secret = await self.backend.run(service.secret_of, name)
            verify(provider, request.headers, body, secret)
            delivery = parse(provider, request.headers, body)
        except TooLarge:
            return self._refuse(name, 413, "payload too large", f"over {MAX_BODY_BYTES} bytes")
        except (NotFound, FailedPrecondition):
            return self._refuse(name, 404, "unknown workflow", "no such workflow")
        except Unauthenticated as error:
            return self._refuse(name, 401, "bad signature", str(error))
        except InvalidArgument as error:
            return self._refuse(name, 400, "malformed", str(error))
        accepted = await self.backend.run(service.accept, name, delivery, acting_as(name))
        await self.backend.caught_up(accepted.position)  # the job it names can be read
        log.info(
            "workflow %s: %s delivery %s (%s): %s",
            name,
            delivery.provider,
            delivery.delivery_id,
            delivery.event,
            accepted.outcome,
        )
        body_out = {
            "job_id": accepted.job_id,
            "outcome": accepted.outcome,
            "duplicate": accepted.duplicate,
        }
        return JSONResponse(
            body_out, status_code=202 if accepted.job_id and not accepted.duplicate else 200
        )

    def _refuse(self, name: str, status: int, reason: str, detail: str) -> Response:
        self.rejected[reason] += 1
        log.warning("webhook for workflow %.40r refused (%d %s): %s", name, status, reason, detail)
        return JSONResponse({"error": f"{reason}: {detail}"}, status_code=status)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise TooLarge
    return bytes(body)
