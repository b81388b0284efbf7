"""The wire: one gRPC channel, the caller's token, deadlines and safe retries.

Every call carries ``authorization: Bearer <token>`` when a token is configured (the
server records the key it names as the actor of what the call changes). With a CA
(``--ca``/``LEDGER_CA``) the channel is TLS and the server's certificate must be signed
by that CA; ``--tls`` uses TLS with the system's trusted roots. Unary calls get a
deadline. A call that finds ledgerd gone or stopping (UNAVAILABLE from the connection, or
CANCELLED without our asking: a server that is stopping ends so the calls that reached it
but no handler yet, gRPC core's behaviour at shutdown) is retried with backoff for up to
:data:`RESTART_PATIENCE` seconds, long enough for a restart (a service manager's SIGTERM,
then a new ledgerd on the same address). An UNAVAILABLE that ledgerd answered itself (its
database or Docker engine is down) is retried :data:`RETRIES` times. Mutating requests
carry a ``request_id`` chosen once before the first attempt, so a retry after a lost
answer, or of a call that did run, is recognised by the server and appends nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from cli.errors import answered, handshake_failed, status_code

DEFAULT_HOST = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 30.0
RETRIES = 3  # of a call ledgerd answered UNAVAILABLE itself
BACKOFF = 0.25  # seconds before the first retry; doubles each time, up to MAX_BACKOFF
MAX_BACKOFF = 1.0  # a restarted ledgerd is found within a second of being back
RESTART_PATIENCE = 8.0  # seconds of pauses a call waits for a ledgerd gone or stopping
# A server gone or going: UNAVAILABLE, or CANCELLED for a call cut as it stops (we never
# cancel a call we still wait for, so a CANCELLED we get is the server's).
RETRIED = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})

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


@dataclass
class Transport:
    """Calls one ledgerd: owns the channel, adds metadata, deadlines and retries.

    Commands never touch grpc directly; they go through ``cli.client.LedgerClient``,
    which uses this for every call, so the rules above hold for all of them.
    """

    host: str
    token: str | None = None
    ca: bytes | None = None  # PEM roots to verify the server with: TLS
    tls: bool = False  # TLS with the system's roots (when no ca is given)
    timeout: float = DEFAULT_TIMEOUT
    retries: int = RETRIES
    backoff: float = BACKOFF
    patience: float = RESTART_PATIENCE
    sleep: Callable[[float], None] = time.sleep
    _channel: grpc.Channel | None = field(default=None, init=False, repr=False)

    @property
    def channel(self) -> grpc.Channel:
        """The channel, opened on first use (nothing connects at construction)."""
        if self._channel is None:
            options = list(_CHANNEL_OPTIONS)
            if self.secure:
                credentials = grpc.ssl_channel_credentials(root_certificates=self.ca)
                self._channel = grpc.secure_channel(self.host, credentials, options=options)
            else:
                self._channel = grpc.insecure_channel(self.host, options=options)
        return self._channel

    @property
    def secure(self) -> bool:
        return self.tls or self.ca is not None

    def close(self) -> None:
        """Close the channel if it was opened."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def metadata(self) -> list[tuple[str, str]]:
        """The metadata sent with every call."""
        return [("authorization", f"Bearer {self.token}")] if self.token else []

    def unary(self, method: Callable[..., Any], request: Any, returns: type[M]) -> M:
        """Call a unary (or client-streaming, when ``request`` is a callable making a
        fresh request iterator) method, retrying a server gone or stopping with backoff."""

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
        """Run ``attempt``; on UNAVAILABLE or CANCELLED run it again: while the pauses
        add up to less than ``patience`` when ledgerd is gone or stopping, up to
        ``retries`` times when ledgerd answered UNAVAILABLE itself (never when the TLS
        handshake failed: a wrong CA stays wrong)."""
        delay, paused, answers = self.backoff, 0.0, 0
        while True:
            try:
                return attempt()
            except grpc.RpcError as error:
                if status_code(error) not in RETRIED or handshake_failed(error):
                    raise
                answers += answered(error)
                if answers > self.retries or paused >= self.patience:
                    raise
            self.sleep(delay)
            paused += delay
            delay = min(delay * 2, MAX_BACKOFF)


_END = object()
