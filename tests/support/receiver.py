"""A real HTTP receiver for notifications: ``http.server`` on a thread on 127.0.0.1.

It keeps every POST it got (headers and raw body, in arrival order) and answers 204, or
503 for the first ``failures`` requests (a receiver that is down, then back) and for every
event named in ``refused`` (one it can never take), after ``delay`` seconds each.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from server.notify.signing import verify


@dataclass(frozen=True)
class Received:
    """One POST as it arrived."""

    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return self.headers["X-Ledger-Event"]

    def signed_with(self, secret: str) -> bool:
        return verify(secret, self.body, self.headers["X-Ledger-Signature-256"])


class Receiver:
    """The receiver's state, shared with its request handler."""

    def __init__(
        self, failures: int = 0, refused: frozenset[str] = frozenset(), delay: float = 0.0
    ) -> None:
        self.failures = failures
        self.refused = refused
        self.delay = delay
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            refused = self.failures > 0 or headers.get("X-Ledger-Event") in self.refused
            code = 503 if refused else 204
            self.failures -= 1
            self.received.append(Received(headers, body, code))
            return code

    def delivered(self) -> list[Received]:
        """The requests answered 2xx, in arrival order."""
        with self.lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The delivered requests once there are ``count`` (fails after ``timeout``: a
        bound on "it gets there rather than never", not a speed check)."""
        deadline = time.monotonic() + timeout
        while len(found := self.delivered()) < count:
            assert time.monotonic() < deadline, (
                f"{len(found)} of {count} deliveries arrived: {[r.event for r in found]}"
            )
            time.sleep(0.05)
        return found

    def wait_until(self, what: str, done: Callable[[list[Received]], bool]) -> list[Received]:
        """The delivered requests once ``done`` says they are complete (see ``wait_for``)."""
        deadline = time.monotonic() + 30.0
        while not done(found := self.delivered()):
            assert time.monotonic() < deadline, f"{what}: got {[r.event for r in found]}"
            time.sleep(0.05)
        return found


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            code = receiver.answer(dict(self.headers.items()), body)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving(
    failures: int = 0, refused: frozenset[str] = frozenset(), delay: float = 0.0
) -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 until the block ends."""
    receiver = Receiver(failures, refused, delay)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
