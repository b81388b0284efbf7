"""Authentication: from ``authorization: Bearer <token>`` metadata to the key it names.

The key behind a token is found by the token's SHA-256 in the keys projection (one index
probe) and cached in memory by that hash, since every RPC is authenticated. A revocation
must end a key's access quickly on every ``ledgerd`` of a ledger, so the cache is
invalidated three ways: at once by the RevokeKey call in this process; by the
``KeyRevoked`` event when the projection worker hands it to its listeners (within one
poll, ~50 ms, also for revocations made by another ``ledgerd`` sharing PostgreSQL); and,
as a backstop should the worker be stuck, every entry expires after
:data:`CACHE_SECONDS` and is looked up again. While the database is unreachable an
expired entry is used as it is (no revocation can be recorded then either), so the reads
served from memory keep answering keys that were signed in before.

Both entry points authenticate here: the gRPC interceptor by the call's bearer token, the
console by the token hash its session holds (:meth:`server.backend.Backend.principal`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from ledger import budget
from ledger.domain.key import Role
from ledger.errors import Unauthenticated
from ledger.keys import looks_like_token, token_hash
from ledger.policy import Principal
from ledger.read_model import ReadModel
from ledger.views import EventView, KeyView
from server.infra.persistence import unreachable

CACHE_SECONDS = 2.0
STALE_LOOKUP_SECONDS = 0.5  # longest database wait to look a known key up again
MAX_CACHED = 10_000
NO_TOKEN = (
    "not signed in: send 'authorization: Bearer <token>' metadata "
    "(ledgerctl: set LEDGER_TOKEN or pass --token)"
)
BAD_TOKEN = "invalid token: no valid key has this token (unknown or revoked)"


def bearer_token(metadata: Iterable[tuple[str, Any]] | None) -> str:
    """The token of ``authorization: Bearer <token>`` ('' when absent)."""
    for key, value in metadata or ():
        if key != "authorization":
            continue
        text = value if isinstance(value, str) else bytes(value).decode(errors="replace")
        scheme, _, token = text.strip().partition(" ")
        if scheme.lower() == "bearer":
            return token.strip()
    return ""


def principal_of(view: KeyView) -> Principal | None:
    """The principal of a key, None once revoked."""
    if view.revoked_at is not None:
        return None
    return Principal(
        key_id=view.id, name=view.name, role=Role(view.role), apps=frozenset(view.apps)
    )


class Authenticator:
    """Finds the key behind a token; a thread-safe cache by token hash in front of the
    read model. Lookups block (they query the database): run them off the event loop."""

    def __init__(
        self,
        reader: ReadModel,
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by each invalidation

    @property
    def generation(self) -> int:
        """Bumped by each invalidation: an answer read before it may be out of date."""
        with self._lock:
            return self._generation

    def cached(self, digest: str) -> Principal | None:
        """The principal of a token hash if cached and fresh (never blocks on I/O)."""
        with self._lock:
            entry = self._cache.get(digest)
        if entry is None or entry[1] < self.clock():
            return None
        return entry[0]

    def lookup(self, digest: str) -> Principal | None:
        """Read the key from the read model (blocking) and cache it; None if not valid.

        An answer read while a revocation was being applied is not cached: the
        generation it started in is gone.
        """
        with self._lock:
            generation = self._generation
            entry = self._cache.get(digest)
        try:
            # A key known already is not worth a long wait: it is answered as known.
            with budget.within(STALE_LOOKUP_SECONDS if entry is not None else None):
                view = self.reader.key_by_token_hash(digest)
        except Exception as error:
            if entry is None or not unreachable(error):
                raise
            # Expired, but not revoked (that would have dropped it): keep using it for
            # another while rather than wait for the database at every request.
            with self._lock:
                if generation == self._generation and digest in self._cache:
                    self._cache[digest] = (entry[0], self.clock() + self.ttl)
            return entry[0]
        principal = principal_of(view) if view is not None else None
        if principal is not None:
            with self._lock:
                if generation == self._generation:
                    if len(self._cache) >= MAX_CACHED:
                        self._cache.clear()
                    self._cache[digest] = (principal, self.clock() + self.ttl)
        return principal

    def forget(self, key_id: str) -> None:
        """Drop every cached token of the key ``key_id`` (it was revoked)."""
        with self._lock:
            self._generation += 1
            stale = [d for d, (p, _) in self._cache.items() if p.key_id == key_id]
            for digest in stale:
                del self._cache[digest]

    def on_events(self, events: list[EventView]) -> None:
        """Projection worker listener: forget keys as their KeyRevoked events pass by."""
        for event in events:
            if event.type == "KeyRevoked":
                self.forget(str(event.data.get("key_id", "")))

    @staticmethod
    def digest_of(metadata: Iterable[tuple[str, Any]] | None) -> str:
        """The hash of the bearer token in ``metadata``; Unauthenticated if none or malformed
        (a malformed token is refused without a database lookup)."""
        token = bearer_token(metadata)
        if not token:
            raise Unauthenticated(NO_TOKEN)
        if not looks_like_token(token):
            raise Unauthenticated(BAD_TOKEN)
        return token_hash(token)
