"""The shape every server interceptor of ours shares: wrap each method's handler once.

grpc.aio asks interceptors for a handler on every call; building the wrapper each time
would cost a closure tree per call. :class:`WrappingInterceptor` keeps one wrapper per
method (rebuilt only if the server hands out another handler) and lets subclasses say
which methods to leave alone and how to wrap the others.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

import grpc


class WrappingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Returns each method's handler wrapped by :meth:`wrap` (cached), unless :meth:`skips`."""

    def __init__(self) -> None:
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    @abstractmethod
    def skips(self, method: str) -> bool:
        """Whether ``method``'s handler is returned as it is."""

    @abstractmethod
    def wrap(self, handler: Any, method: str) -> Any:
        """``handler`` wrapped for ``method``."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or self.skips(method):
            return handler
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self.wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped
