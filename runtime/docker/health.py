"""Waiting for a new container to become healthy, as ``ledger.manifest.Health`` defines.

With a port, an HTTP GET of ``http://127.0.0.1:$PORT<path>`` starts at once and repeats
every ``interval`` seconds (each attempt waits at most ``timeout``) until one answers
2xx/3xx; none within ``grace`` seconds fails the container. While the connection is
refused (the process is not listening yet) the check is retried every
``FAST_RETRY`` seconds instead of a whole interval, because most processes start
listening within a fraction of a second and rollouts should not wait for nothing.
Without a port, the process must still run ``grace`` seconds after it started.

Every wait also watches the container itself (an exit is a failed process, with its
last output), the promotion's deadline and cancellation, polling at least every
``POLL`` seconds.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from ledger.domain import Cause, CauseKind
from ledger.manifest import Service
from runtime.docker.containers import Containers
from runtime.docker.labels import ContainerInfo

FAST_RETRY = 0.05
POLL = 0.1
BODY_CHARS = 200


@dataclass(frozen=True)
class Limits:
    """What bounds every wait of one convergence besides the health check's own grace."""

    deadline: float  # a time.monotonic() value
    cancelled: Callable[[], bool]
    deadline_text: str  # e.g. "the promotion's deadline (600 s)"

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def interruption(
        self, service: str, container: ContainerInfo | None = None, last: str = ""
    ) -> Cause | None:
        """A ``cancelled`` or ``deadline_exceeded`` cause if waiting must stop now."""
        name = container.name if container else ""
        if self.cancelled():
            return Cause(CauseKind.CANCELLED, "cancelled", service=service, container=name)
        if self.remaining() <= 0:
            waiting = ""
            if container is not None:
                waiting = f" while {container.title} ({container.release_label}) was not healthy"
                waiting += f" yet (last check: {last})" if last else " yet"
            return Cause(
                CauseKind.DEADLINE_EXCEEDED,
                f"{self.deadline_text} passed{waiting}",
                service=service,
                container=name,
                last_response=last,
            )
        return None


@dataclass(frozen=True)
class Probe:
    """One health check attempt."""

    ok: bool
    retry_soon: bool  # nothing listens yet: try again quickly
    response: str  # "HTTP 500: <body>", "connection refused", ...


def probe(port: int, path: str, timeout: float) -> Probe:
    """GET ``http://127.0.0.1:<port><path>``; healthy on 2xx/3xx (redirects not followed)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "ledger-health-check"})
        response = connection.getresponse()
        body = response.read(BODY_CHARS * 4).decode("utf-8", "replace").strip()
        status = response.status
    except ConnectionRefusedError:
        return Probe(False, True, "connection refused")
    except ConnectionResetError:
        return Probe(False, True, "connection reset")
    except TimeoutError:
        return Probe(False, False, f"no answer within {timeout:g} s")
    except http.client.RemoteDisconnected:
        return Probe(False, True, "connection closed without a response")
    except (OSError, http.client.HTTPException) as error:
        return Probe(False, False, f"{type(error).__name__}: {error}"[:BODY_CHARS])
    finally:
        connection.close()
    text = f"HTTP {status}: {body[:BODY_CHARS]}" if body else f"HTTP {status}"
    return Probe(200 <= status < 400, False, text)


class HealthWaiter:
    """Waits for containers to become healthy (or fail, or be interrupted)."""

    def __init__(self, containers: Containers) -> None:
        self.containers = containers

    def wait(
        self, container: ContainerInfo, service: Service, limits: Limits, since: float
    ) -> Cause | None:
        """None once ``container`` is healthy, else why not. ``since`` is the
        ``time.monotonic()`` at which its grace period began (when it started)."""
        health = service.health
        grace_end = since + health.grace
        last = ""
        next_probe = time.monotonic()
        while True:
            interrupted = limits.interruption(service.name, container, last)
            if interrupted is not None:
                return self._with_output(interrupted, container)
            state = self.containers.state(container)
            if not state.running:
                return self._exited(container, service, state.exit_code, state.oom_killed)
            now = time.monotonic()
            if not (service.http and container.port):
                if now >= grace_end:
                    return None
                wake = grace_end
            else:
                if now >= next_probe or now >= grace_end:
                    timeout = max(0.05, min(health.timeout, limits.remaining()))
                    result = probe(container.port, health.path, timeout)
                    if result.ok:
                        return None
                    last = result.response
                    next_probe = now + (FAST_RETRY if result.retry_soon else health.interval)
                    if time.monotonic() >= grace_end:
                        return self._unhealthy(container, service, last)
                wake = min(next_probe, grace_end)
            pause = min(wake, limits.deadline, time.monotonic() + POLL) - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def _exited(
        self, container: ContainerInfo, service: Service, exit_code: int, oom: bool
    ) -> Cause:
        how = "was killed: out of memory" if oom else f"exited with code {exit_code}"
        return self._with_output(
            Cause(
                CauseKind.PROCESS_FAILED,
                f"{container.title} ({container.release_label}) {how}",
                service=service.name,
                container=container.name,
                exit_code=exit_code,
            ),
            container,
        )

    def _unhealthy(self, container: ContainerInfo, service: Service, last: str) -> Cause:
        health = service.health
        return self._with_output(
            Cause(
                CauseKind.HEALTH_CHECK_FAILED,
                f"{container.title} ({container.release_label}) did not pass its health check"
                f" (GET {health.path}) within {health.grace:g} s: {last}",
                service=service.name,
                container=container.name,
                last_response=last,
            ),
            container,
        )

    def _with_output(self, cause: Cause, container: ContainerInfo) -> Cause:
        return replace(cause, output=self.containers.output(container))
