"""The one place requests are admitted: a grpc.aio server interceptor.

Every method of our services is wrapped so that, before the servicer runs, the call is
authenticated (the bearer token's key, :mod:`server.infra.authn`) and its action (from
:data:`server.grpc.methods.METHODS`) is checked by :mod:`ledger.policy` on the app the
request names. The servicer then gets the call's context wrapped as a :class:`Call`,
which carries the key as ``principal``: the servicer passes it on explicitly (the actor of
the events it appends, the reveal rule of the queries). A refused call ends with
UNAUTHENTICATED or PERMISSION_DENIED before the servicer runs, so nothing is appended.
gRPC health checking and reflection pass through untouched.

Methods that name their app in the request are checked on the deserialised request;
for CreateBuild, a client stream, on its first message, which is then handed on with
the rest of the stream. A response stream (WatchEvents, StreamBuildLogs) outlives the
check at its start, so its key is checked again every :data:`RECHECK_SECONDS` while it
sends: a revoked key's streams end with UNAUTHENTICATED (an idle watch sends a heartbeat
every 15 s).
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from ledger import policy
from ledger.errors import Unauthenticated
from ledger.policy import Principal
from server.backend import Backend
from server.grpc.errors import abort_for
from server.grpc.methods import Method, Scope, is_open, method_for
from server.grpc.wrapping import WrappingInterceptor
from server.infra.authn import NO_TOKEN, Authenticator

RECHECK_SECONDS = 1.0


class Call:
    """A call's context with the key it was made with (``principal``); everything else
    is the grpc.aio context's."""

    def __init__(self, context: Any, principal: Principal) -> None:
        self._context = context
        self.principal = principal

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def principal_of(context: Any) -> Principal:
    """The key a call was admitted with (refused, never guessed, without one)."""
    principal = getattr(context, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthenticated(NO_TOKEN)
    return principal


class AuthInterceptor(WrappingInterceptor):
    """Wraps each handler of our services with its admission (wrappers are reused)."""

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend

    def skips(self, method: str) -> bool:
        return is_open(method)

    def wrap(self, handler: Any, method: str) -> Any:
        return guarded(handler, method, self.backend)


async def authorize(backend: Backend, principal: Principal, rule: Method, request: Any) -> None:
    """Raise PermissionDenied unless the policy lets ``principal`` make ``request``."""
    app = getattr(request, rule.field, "") if rule.scope is not Scope.NONE else ""
    if rule.scope is Scope.RESOURCE and not app and not principal.all_apps and rule.owners:
        # Named by id only: authorise by the app(s) the resource belongs to.
        owners = await backend.run(rule.owners, backend.reader, request)
        policy.check_granted(principal, rule.action)  # unknown id: the servicer says NOT_FOUND
        for owner in owners:
            policy.check(principal, rule.action, owner)
        return
    policy.check(principal, rule.action, app)


def guarded(handler: Any, method: str, backend: Backend) -> Any:
    """``handler`` with every call admitted first."""
    rule = method_for(method)
    name = method.rsplit("/", 1)[-1]

    async def authenticate(context: Any) -> tuple[str, Principal]:
        """The token's hash and its key, or the call ends (UNAUTHENTICATED)."""
        try:
            digest = Authenticator.digest_of(context.invocation_metadata())
            return digest, await backend.principal(digest)
        except Exception as error:
            await abort_for(error, name, context)  # raises
            raise

    async def admit_to(principal: Principal, request: Any, context: Any) -> Call:
        """The call, as ``principal``'s, if the policy allows ``request``; else it ends."""
        try:
            await authorize(backend, principal, rule, request)
        except Exception as error:
            await abort_for(error, name, context)  # raises
            raise
        return Call(context, principal)

    async def admit(request: Any, context: Any) -> tuple[str, Call]:
        digest, principal = await authenticate(context)
        return digest, await admit_to(principal, request, context)

    async def rechecked(
        responses: AsyncGenerator[Any, None], digest: str, context: Any
    ) -> AsyncIterator[Any]:
        """The responses of a stream, as long as its key stays valid."""
        checked = time.monotonic()
        try:
            async for response in responses:
                if time.monotonic() - checked >= RECHECK_SECONDS:
                    try:
                        await backend.principal(digest)
                    except Exception as error:
                        await abort_for(error, name, context)  # raises
                        raise
                    checked = time.monotonic()
                yield response
        finally:
            await responses.aclose()

    if handler.unary_unary is not None:
        unary_unary = handler.unary_unary

        @functools.wraps(unary_unary)
        async def guarded_unary_unary(request: Any, context: Any) -> Any:
            _, call = await admit(request, context)
            return await unary_unary(request, call)

        return handler._replace(unary_unary=guarded_unary_unary)
    if handler.unary_stream is not None:
        unary_stream = handler.unary_stream

        @functools.wraps(unary_stream)
        async def guarded_unary_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            digest, call = await admit(request, context)
            async for response in rechecked(unary_stream(request, call), digest, context):
                yield response

        return handler._replace(unary_stream=guarded_unary_stream)
    if handler.stream_unary is not None:
        stream_unary = handler.stream_unary

        @functools.wraps(stream_unary)
        async def guarded_stream_unary(requests: Any, context: Any) -> Any:
            _, principal = await authenticate(context)  # before reading any upload
            first, rest = await _peek(requests)
            call = await admit_to(principal, _opening(first), context)
            return await stream_unary(_chain(first, rest), call)

        return handler._replace(stream_unary=guarded_stream_unary)
    stream_stream = handler.stream_stream

    @functools.wraps(stream_stream)
    async def guarded_stream_stream(requests: Any, context: Any) -> AsyncIterator[Any]:
        digest, principal = await authenticate(context)
        first, rest = await _peek(requests)
        call = await admit_to(principal, _opening(first), context)
        responses = stream_stream(_chain(first, rest), call)
        async for response in rechecked(responses, digest, context):
            yield response

    return handler._replace(stream_stream=guarded_stream_stream)


async def _peek(requests: Any) -> tuple[Any, AsyncIterator[Any]]:
    messages = aiter(requests)
    try:
        return await anext(messages), messages
    except StopAsyncIteration:
        return None, messages


class _Opening:
    """What a client stream's first message says about the app (CreateBuild metadata)."""

    def __init__(self, app: str) -> None:
        self.app = app


def _opening(first: Any) -> _Opening:
    try:
        opens = first is not None and first.WhichOneof("payload") == "metadata"
    except ValueError:  # a stream of messages without that oneof
        opens = False
    return _Opening(first.metadata.app if opens else "")


async def _chain(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    if first is not None:
        yield first
    async for message in rest:
        yield message
