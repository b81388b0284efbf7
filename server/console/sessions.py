"""Sign-in sessions of the console: a random id in an HttpOnly, SameSite cookie.

The server keeps, per session id, the SHA-256 of the token the person signed in with;
the key behind it is looked up through the same :class:`~server.infra.authn.Authenticator` as
every RPC, on every request, so a revoked key is signed out at once. Nothing of the
token is in the cookie, and signing out forgets the session on the server (a copied
cookie is dead too). Sessions live in this process's memory: restarting ``ledgerd``
signs everyone out, which is the safe default for a console that can deploy.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "ledger_session"
LIFETIME_SECONDS = 12 * 3600
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    digest: str  # SHA-256 of the token signed in with
    expires: float


class Sessions:
    """Session id → token hash, with an absolute lifetime; thread-safe."""

    def __init__(
        self,
        lifetime: float = LIFETIME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, digest: str) -> str:
        """A new session for the token with hash ``digest``; returns its id."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._drop_expired(now)
            self._sessions[session_id] = Session(digest, now + self.lifetime)
        return session_id

    def digest(self, session_id: str) -> str | None:
        """The token hash of a live session, None if unknown or expired."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= self.clock():
                del self._sessions[session_id]
                session = None
        return session.digest if session is not None else None

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _drop_expired(self, now: float) -> None:
        for session_id in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[session_id]
