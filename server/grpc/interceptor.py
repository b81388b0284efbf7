"""The one place requests are admitted: a grpc.aio server interceptor.

Every method of our services is wrapped so that, before the servicer runs, the call is
authenticated (:mod:`server.infra.authn`) and checked against its rule in
:data:`server.grpc.methods.RULES`; the key it was made with then becomes the caller
(:func:`server.infra.authn.current`) for the servicer, which records it as the actor of the
events it appends. A refused call ends with UNAUTHENTICATED or PERMISSION_DENIED before
the servicer runs, so nothing is appended. gRPC health checking and reflection pass
through untouched.

Rules that need the request (the app it names) are checked on the deserialised request;
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

from ledger.access import Principal
from server.grpc.errors import abort_for
from server.grpc.methods import is_open, rule_for
from server.grpc.wrapping import WrappingInterceptor
from server.guard import Guard
from server.infra.authn import Authenticator, act_as

RECHECK_SECONDS = 1.0


class AuthInterceptor(WrappingInterceptor):
    """Wraps each handler of our services with :class:`Guard` (wrappers are reused)."""

    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    def skips(self, method: str) -> bool:
        return is_open(method)

    def wrap(self, handler: Any, method: str) -> Any:
        return guarded(handler, method, self.guard)


def guarded(handler: Any, method: str, guard: Guard) -> Any:
    """``handler`` with every call admitted by ``guard`` first."""
    rule = rule_for(method)
    name = method.rsplit("/", 1)[-1]

    async def authenticate(context: Any) -> tuple[str, Principal]:
        """The token's hash and its key, or the call ends (UNAUTHENTICATED)."""
        try:
            digest = Authenticator.digest_of(context.invocation_metadata())
            return digest, await guard.principal(digest)
        except Exception as error:
            await abort_for(error, name, context)  # raises
            raise

    async def authorize(principal: Principal, request: Any, context: Any) -> None:
        """Make ``principal`` the caller if its rule allows ``request``, or end the call."""
        try:
            await guard.authorize(principal, method, rule, request)
        except Exception as error:
            await abort_for(error, name, context)  # raises
            raise
        act_as(principal)

    async def admit(request: Any, context: Any) -> str:
        digest, principal = await authenticate(context)
        await authorize(principal, request, context)
        return digest

    async def rechecked(
        responses: AsyncGenerator[Any, None], digest: str, context: Any
    ) -> AsyncIterator[Any]:
        """The responses of a stream, as long as its key stays valid."""
        checked = time.monotonic()
        try:
            async for response in responses:
                if time.monotonic() - checked >= RECHECK_SECONDS:
                    try:
                        await guard.principal(digest)
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
            await admit(request, context)
            return await unary_unary(request, context)

        return handler._replace(unary_unary=guarded_unary_unary)
    if handler.unary_stream is not None:
        unary_stream = handler.unary_stream

        @functools.wraps(unary_stream)
        async def guarded_unary_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            digest = await admit(request, context)
            async for response in rechecked(unary_stream(request, context), digest, context):
                yield response

        return handler._replace(unary_stream=guarded_unary_stream)
    if handler.stream_unary is not None:
        stream_unary = handler.stream_unary

        @functools.wraps(stream_unary)
        async def guarded_stream_unary(requests: Any, context: Any) -> Any:
            _, principal = await authenticate(context)  # before reading any upload
            first, rest = await _peek(requests)
            await authorize(principal, _opening(first), context)
            return await stream_unary(_chain(first, rest), context)

        return handler._replace(stream_unary=guarded_stream_unary)
    stream_stream = handler.stream_stream

    @functools.wraps(stream_stream)
    async def guarded_stream_stream(requests: Any, context: Any) -> AsyncIterator[Any]:
        digest, principal = await authenticate(context)
        first, rest = await _peek(requests)
        await authorize(principal, _opening(first), context)
        responses = stream_stream(_chain(first, rest), context)
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
