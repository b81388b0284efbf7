"""The connection to the Docker Engine, opened on first use and shared by every thread.

Nothing connects at import or construction time: ``ledgerd`` can start (and the
``record`` parts of it work) while the engine is still coming up, and the first call
that needs the engine opens the client. The SDK's ``APIClient`` is a ``requests``
session with a pool of connections to the engine's socket; one instance serves all
promotion and build threads (each request takes a connection of its own from the pool).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import docker
import requests

from ledger.errors import Unavailable

ClientFactory = Callable[[], docker.APIClient]

# Connections kept open to the engine: several promotions and builds run at once, and a
# streaming build holds its connection for as long as it runs.
POOL_SIZE = 32
# Seconds an ordinary engine request may take (builds and stops set their own).
REQUEST_TIMEOUT = 60
# Seconds a ping of an engine that may be down gets (see ``Engine.answers``).
PING_TIMEOUT = 5

# What the SDK raises when the engine cannot be reached or answers garbage.
ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)


class Engine:
    """A lazily opened, thread-safe handle on one Docker Engine."""

    def __init__(
        self, base_url: str | None = None, *, client_factory: ClientFactory | None = None
    ) -> None:
        """``base_url`` is the engine's address (``unix:///var/run/docker.sock``,
        ``tcp://host:2375``; None: the SDK's default socket). ``client_factory`` replaces
        the default client construction altogether (it is called once, on first use)."""
        self.base_url = base_url
        self._factory = client_factory or self._default_client
        self._probe_factory = client_factory or self._probe_client
        self._client: docker.APIClient | None = None
        self._lock = threading.Lock()

    def _default_client(self) -> docker.APIClient:
        return docker.APIClient(
            base_url=self.base_url,
            version="auto",
            timeout=REQUEST_TIMEOUT,
            max_pool_size=POOL_SIZE,
        )

    def _probe_client(self) -> docker.APIClient:
        return docker.APIClient(base_url=self.base_url, version="auto", timeout=PING_TIMEOUT)

    @property
    def api(self) -> docker.APIClient:
        """The low-level client, opened now if it is not yet; ``Unavailable`` if the engine
        does not answer."""
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                try:
                    self._client = self._factory()
                except ENGINE_ERRORS as error:
                    raise Unavailable(self.unreachable(error)) from error
            return self._client

    def answers(self) -> bool:
        """Whether the engine answers a ping on a connection of its own, now.

        Not through the shared client: an engine shutting down still answers on the
        connections it already had open while refusing new ones (its socket is gone), so
        a ping over a pooled connection would say it is up when it is going down."""
        try:
            client = self._probe_factory()
        except ENGINE_ERRORS:
            return False
        try:
            return bool(client.ping())
        except ENGINE_ERRORS:
            return False
        finally:
            client.close()

    def unreachable(self, error: BaseException) -> str:
        """A one-line message for an engine that cannot be reached."""
        where = self.base_url or "the default socket"
        return f"the Docker engine at {where} does not answer: {_first_line(error)}"

    def close(self) -> None:
        """Close the client's connections (a later call opens a new client)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


def engine_time(text: str) -> datetime | None:
    """A time as the engine (or a swarm manager) writes it: RFC 3339 with nanoseconds,
    which Python reads only to the microsecond; None for none (also the zero time)."""
    if not text or text.startswith("0001-"):
        return None
    head, _, fraction = text.rstrip("Z").partition(".")
    head = head.split("+")[0]
    digits = "".join(ch for ch in fraction if ch.isdigit())[:6]
    try:
        moment = datetime.fromisoformat(f"{head}.{digits or '0'}")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC)
