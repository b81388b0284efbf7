"""Host ports for containers: each HTTP container listens on its own ``$PORT``.

Containers run with host networking, so two of them must never be given the same port.
A port is free when no container of ours carries it in its ``ledger.port`` label, no
thread of this process is about to create a container with it, and it can be bound on
the host right now. The engine is asked for the labels while the lock is held, and a
reservation is dropped only once the container exists (and so carries the label): two
threads can therefore never pick the same port.

Ports are drawn at random from a range below the kernel's ephemeral range (32768+), so
they do not collide with the source ports of outgoing connections (our health checks
among them), and so that another process using the same engine is unlikely to pick the
same port in the moment before its container exists.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from collections.abc import Callable, Iterator

DEFAULT_PORTS = range(20000, 30000)
RANDOM_TRIES = 64


class NoFreePort(Exception):
    """Every port of the range is taken."""


class PortAllocator:
    """Hands out host ports that no container of ours uses and nothing on the host holds."""

    def __init__(self, ports: range = DEFAULT_PORTS) -> None:
        if len(ports) == 0:
            raise ValueError("the port range is empty")
        self.ports = ports
        self._pending: set[int] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def reserve(self, in_use: Callable[[], set[int]]) -> Iterator[int]:
        """Yield a free port, held for this process until the block ends (create the
        container, labelled with the port, inside the block). ``in_use`` lists the
        ports the engine's containers carry."""
        with self._lock:
            taken = in_use() | self._pending
            port = self._pick(taken)
            self._pending.add(port)
        try:
            yield port
        finally:
            with self._lock:
                self._pending.discard(port)

    def _pick(self, taken: set[int]) -> int:
        for _ in range(RANDOM_TRIES):
            port = random.choice(self.ports)
            if port not in taken and bindable(port):
                return port
        for port in self.ports:
            if port not in taken and bindable(port):
                return port
        raise NoFreePort(f"no free port from {self.ports.start} to {self.ports.stop - 1}")


def bindable(port: int) -> bool:
    """Whether a listener could bind ``port`` on every address of the host now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True
