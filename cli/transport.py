"""The wire: one gRPC channel, the caller's metadata, deadlines and safe retries.

Every call carries ``x-ledger-actor: <user>@<host>`` (recorded by the server until real
authentication exists) and, when a token is configured, ``authorization: Bearer <token>``.
Unary calls get a deadline; a call that fails with UNAVAILABLE is retried a few times with
backoff. Mutating requests carry a ``request_id`` chosen once before the first attempt, so a
retry after a lost answer is recognised by the server and appends nothing.
"""

from __future__ import annotations

import getpass
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from cli.errors import status_code

DEFAULT_HOST = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0
RETRIES = 3
BACKOFF = 0.25  # seconds before the first retry; doubles each time

# Reconnect quickly after a failure so the retries above see a restarted server instead
# of the channel's own (1 s, growing) reconnect backoff.
_CHANNEL_OPTIONS: Sequence[tuple[str, int]] = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
)

M = TypeVar("M", bound=Message)


def new_request_id() -> str:
    """A fresh idempotency key for one mutating request."""
    return uuid.uuid4().hex


def actor(environ: Mapping[str, str]) -> str:
    """``<user>@<hostname>`` of whoever runs the CLI, in printable ASCII."""
    user = next(
        (environ[k] for k in ("LOGNAME", "USER", "LNAME", "USERNAME") if environ.get(k)),
        None,
    )
    if user is None:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = "unknown"
    return _ascii(f"{user}@{socket.gethostname()}")


def _ascii(value: str) -> str:
    return value.encode("ascii", "backslashreplace").decode("ascii")


@dataclass
class Transport:
    """Calls one ledgerd: owns the channel, adds metadata, deadlines and retries.

    Commands never touch grpc directly; they go through ``cli.client.LedgerClient``,
    which uses this for every call, so the rules above hold for all of them.
    """

    host: str
    actor: str
    token: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = RETRIES
    backoff: float = BACKOFF
    sleep: Callable[[float], None] = time.sleep
    _channel: grpc.Channel | None = field(default=None, init=False, repr=False)

    @property
    def channel(self) -> grpc.Channel:
        """The channel, opened on first use (nothing connects at construction)."""
        if self._channel is None:
            self._channel = grpc.insecure_channel(self.host, options=list(_CHANNEL_OPTIONS))
        return self._channel

    def close(self) -> None:
        """Close the channel if it was opened."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def metadata(self) -> list[tuple[str, str]]:
        """The metadata sent with every call."""
        result = [("x-ledger-actor", self.actor)]
        if self.token:
            result.append(("authorization", f"Bearer {self.token}"))
        return result

    def unary(self, method: Callable[..., Any], request: Any, returns: type[M]) -> M:
        """Call a unary (or client-streaming, when ``request`` is a callable making a
        fresh request iterator) method, retrying UNAVAILABLE with backoff."""

        def attempt() -> Any:
            payload = request() if callable(request) else request
            return method(payload, timeout=self.timeout, metadata=self.metadata())

        response = self.retrying(attempt)
        if not isinstance(response, returns):
            raise TypeError(f"expected {returns.__name__}, got {type(response).__name__}")
        return response

    def stream(
        self, method: Callable[..., Any], request: Message, *, timeout: float | None
    ) -> Iterator[Any]:
        """Open a server stream. Opening is retried like a unary call (the first message
        is awaited inside the retry), later failures propagate to the caller."""
        call: Any = None

        def attempt() -> Any:
            nonlocal call
            call = method(request, timeout=timeout, metadata=self.metadata())
            return next(call, _END)

        first = self.retrying(attempt)
        try:
            if first is not _END:
                yield first
                yield from call
        finally:
            if call is not None:
                call.cancel()

    def retrying(self, attempt: Callable[[], Any]) -> Any:
        """Run ``attempt``; on UNAVAILABLE run it again up to ``retries`` times."""
        delay = self.backoff
        for remaining in range(self.retries, -1, -1):
            try:
                return attempt()
            except grpc.RpcError as error:
                if remaining == 0 or status_code(error) != grpc.StatusCode.UNAVAILABLE:
                    raise
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


_END = object()
