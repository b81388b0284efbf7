"""Request rate limits: a token bucket per deploy key, enforced by a server interceptor.

One client looping on the API (a CI job gone wrong, a dashboard polling without pause)
must not starve everyone else of the server, so each key may make ``rate`` requests per
second on average, in bursts of up to ``burst``. A request over the limit is refused with
RESOURCE_EXHAUSTED before its servicer runs (nothing is recorded) and a message saying
when the key may call again; other keys are not affected.

The bucket is the key's, not the connection's: the interceptor runs after authentication
(it comes after :class:`server.grpc.interceptor.AuthInterceptor` in the server's interceptor
list), so it charges the key the call was authenticated with, and a client cannot escape
its limit by opening more connections. A stream (WatchEvents, StreamBuildLogs,
CreateBuild) costs one request when it opens. Limits are per ``ledgerd`` process. gRPC
health checking and reflection are never limited.
"""

from __future__ import annotations

import functools
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from ledger.errors import Unauthenticated
from server.grpc.errors import abort
from server.grpc.interceptor import principal_of
from server.grpc.methods import is_open
from server.grpc.wrapping import WrappingInterceptor

MAX_BUCKETS = 100_000  # keys tracked at once; the least recently seen are dropped first


@dataclass
class TokenBucket:
    """``tokens`` requests available now, refilled at ``rate`` per second up to ``burst``."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Spend one token: 0.0 when there was one, else the seconds until there is."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """A token bucket per caller (by key id); ``rate`` 0 means unlimited.

    Used from the server's event loop only, so it needs no lock.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.rate = rate
        self.burst = float(max(burst, 1))
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def wait(self, caller: str) -> float:
        """Charge one request to ``caller``: 0.0 if allowed, else seconds to wait."""
        if self.unlimited:
            return 0.0
        now = self.clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = TokenBucket(self.rate, self.burst, self.burst, now)
            self._buckets[caller] = bucket
            if len(self._buckets) > self.max_buckets:
                # The oldest bucket was idle longest, so it is (nearly) full anyway.
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
        return bucket.take(now)

    def refusal(self, who: str, retry_after: float) -> str:
        """The one-line message of a refused request."""
        rate = f"{self.rate:g}"
        return (
            f"rate limit exceeded: {who} may make {rate} requests per second "
            f"(bursts of {self.burst:g}); retry in {_seconds(retry_after)}"
        )


def _seconds(delay: float) -> str:
    """``0.25 s``: the delay rounded up to the next hundredth of a second."""
    return f"{math.ceil(delay * 100) / 100:.2f} s"


class RateLimitInterceptor(WrappingInterceptor):
    """Wraps each handler of our services so every call is charged to its caller's bucket.

    Must come after the authentication interceptor in the server's list: the caller is
    the key that interceptor authenticated (wrappers are reused, as there).
    """

    def __init__(self, limiter: RateLimiter) -> None:
        super().__init__()
        self.limiter = limiter

    def skips(self, method: str) -> bool:
        return self.limiter.unlimited or is_open(method)

    def wrap(self, handler: Any, method: str) -> Any:
        return limited(handler, self.limiter)


def limited(handler: Any, limiter: RateLimiter) -> Any:
    """``handler`` with every call charged to its caller first (refused when over)."""

    async def admit(context: Any) -> bool:
        """Whether the call may go on; if not, it was ended with RESOURCE_EXHAUSTED."""
        try:
            principal = principal_of(context)
            caller, who = principal.key_id, f"key {principal.name} ({principal.key_id})"
        except Unauthenticated:  # not behind the authentication interceptor: by peer
            caller, who = f"peer:{context.peer()}", "this client"
        delay = limiter.wait(caller)
        if delay <= 0:
            return True
        message = limiter.refusal(who, delay)
        await abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, message)  # raises
        return False  # the client is gone already: nobody to answer

    if handler.unary_unary is not None:
        unary_unary = handler.unary_unary

        @functools.wraps(unary_unary)
        async def limited_unary_unary(request: Any, context: Any) -> Any:
            if not await admit(context):
                return None
            return await unary_unary(request, context)

        return handler._replace(unary_unary=limited_unary_unary)
    if handler.unary_stream is not None:
        unary_stream = handler.unary_stream

        @functools.wraps(unary_stream)
        async def limited_unary_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            if not await admit(context):
                return
            async for response in unary_stream(request, context):
                yield response

        return handler._replace(unary_stream=limited_unary_stream)
    if handler.stream_unary is not None:
        stream_unary = handler.stream_unary

        @functools.wraps(stream_unary)
        async def limited_stream_unary(requests: Any, context: Any) -> Any:
            if not await admit(context):
                return None
            return await stream_unary(requests, context)

        return handler._replace(stream_unary=limited_stream_unary)
    stream_stream = handler.stream_stream

    @functools.wraps(stream_stream)
    async def limited_stream_stream(requests: Any, context: Any) -> AsyncIterator[Any]:
        if not await admit(context):
            return
        async for response in stream_stream(requests, context):
            yield response

    return handler._replace(stream_stream=limited_stream_stream)
