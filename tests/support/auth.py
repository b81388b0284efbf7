"""Signing test clients in: the admin token of a test ledger, and channels that send it.

A new ledger's first ``ledgerd`` writes the token of its admin key to
``$LEDGER_DATA/admin.token``; with several ``ledgerd`` on one PostgreSQL ledger, only the
one that created the key has the file. Test channels send the token with every call (a
client interceptor), unless the call brings an ``authorization`` of its own, so tests of
refusals can send none, or another key's.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from ledger_api.v1 import ledger_pb2
from ledger_api.v1.ledger_pb2_grpc import KeysStub

TOKEN_FILE = "admin.token"


def token_file(data_dir: Path) -> Path:
    return data_dir / TOKEN_FILE


def read_admin_token(*data_dirs: Path, timeout: float = 10.0) -> str:
    """The admin token written by the ledgerd that created the key, in one of ``data_dirs``."""
    deadline = time.monotonic() + timeout
    while True:
        for data_dir in data_dirs:
            path = token_file(data_dir)
            if path.exists():
                token = path.read_text().strip()
                if token:
                    return token
        if time.monotonic() > deadline:
            raise AssertionError(f"no {TOKEN_FILE} in {', '.join(map(str, data_dirs))}")
        time.sleep(0.02)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """Call metadata that signs in with ``token``."""
    return (("authorization", f"Bearer {token}"),)


class _Details(
    collections.namedtuple(
        "_Details",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class BearerToken(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer <token>`` to every call that has none."""

    def __init__(self, token: str) -> None:
        self.token = token

    def _signed(self, details: Any) -> _Details:
        metadata = list(details.metadata or ())
        if not any(key == "authorization" for key, _ in metadata):
            metadata.extend(bearer(self.token))
        return _Details(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._signed(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._signed(details), request)

    def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: Any, requests: Iterable[Any]
    ) -> Any:
        return continuation(self._signed(details), requests)

    def intercept_stream_stream(
        self, continuation: Callable[..., Any], details: Any, requests: Iterable[Any]
    ) -> Any:
        return continuation(self._signed(details), requests)


def signed_in(channel: grpc.Channel, token: str) -> grpc.Channel:
    """``channel`` with every call signed in with ``token``."""
    return grpc.intercept_channel(channel, BearerToken(token))


@contextmanager
def channel_to(address: str, token: str, ready: bool = True) -> Iterator[grpc.Channel]:
    """A plaintext channel to ``address`` whose calls sign in with ``token``."""
    with grpc.insecure_channel(address) as raw:
        if ready:
            grpc.channel_ready_future(raw).result(timeout=10)
        yield signed_in(raw, token)


def create_key(admin: grpc.Channel, name: str, role: str, *apps: str) -> tuple[ledger_pb2.Key, str]:
    """A new key made through ``admin`` (a channel signed in as an admin): (key, token)."""
    response = KeysStub(admin).CreateKey(
        ledger_pb2.CreateKeyRequest(name=name, role=role, apps=list(apps))
    )
    return response.key, response.token
