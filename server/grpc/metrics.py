"""Every gRPC call counted by method and status code, and timed: a server interceptor.

It comes first in the server's interceptor list, so it wraps the others: calls refused
by authentication or the rate limit count too, with the code they were refused with.
The code is the one the call ended with: the context's (set by ``abort``, whether the
error translation of :mod:`server.grpc.errors` or an interceptor aborted), OK when none
was set, UNKNOWN for an exception that escaped, CANCELLED when the call was cancelled or
its response stream closed before its end (the client left). gRPC health checking and
reflection are not counted (probes would drown the API's calls).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from server.grpc.methods import is_open
from server.grpc.wrapping import WrappingInterceptor
from server.metrics.requests import RequestMetrics


class MetricsInterceptor(WrappingInterceptor):
    """Wraps each method's handler to report its calls to :class:`RequestMetrics`."""

    def __init__(self, metrics: RequestMetrics) -> None:
        super().__init__()
        self.metrics = metrics

    def skips(self, method: str) -> bool:
        return is_open(method)

    def wrap(self, handler: Any, method: str) -> Any:
        return measured(handler, method.rsplit("/", 1)[-1], self.metrics)


def ended_with(context: Any, error: BaseException | None) -> str:
    """The name of the status code a call ended with."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    if isinstance(error, asyncio.CancelledError | GeneratorExit):  # closed before its end
        return str(grpc.StatusCode.CANCELLED.name)
    return str((grpc.StatusCode.OK if error is None else grpc.StatusCode.UNKNOWN).name)


def measured(handler: Any, name: str, metrics: RequestMetrics) -> Any:
    """``handler`` reporting each call's end (unary responses with their duration)."""

    async def unary(behaviour: Any, request: Any, context: Any) -> Any:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await behaviour(request, context)
        except BaseException as raised:
            error = raised
            raise
        finally:
            metrics.ended(name, ended_with(context, error), time.perf_counter() - started)

    async def streaming(behaviour: Any, request: Any, context: Any) -> AsyncIterator[Any]:
        error: BaseException | None = None
        try:
            async for response in behaviour(request, context):
                yield response
        except BaseException as raised:
            error = raised
            raise
        finally:
            metrics.ended(name, ended_with(context, error), None)

    for kind, wrapper in (
        ("unary_unary", unary),
        ("stream_unary", unary),
        ("unary_stream", streaming),
        ("stream_stream", streaming),
    ):
        behaviour = getattr(handler, kind)
        if behaviour is not None:
            return handler._replace(**{kind: functools.partial(wrapper, behaviour)})
    return handler
