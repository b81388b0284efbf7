"""Riding out an engine that stops answering in the middle of a rollout or a restore.

A Docker Engine that restarts (an upgrade, a crash, a host reboot) closes its API first,
then stops every container, and answers again seconds later, having started again the
containers whose restart policy says so (our healthy replicas, see
``Containers.keep_running``). A convergence that loses the engine would otherwise end at
once with a runtime error, leaving its new containers behind and, since the restore
needs the engine too, the promotion ``rollback_failed``.

Instead the convergence is run again once the engine answers: it starts from the
engine's actual state (it lists the app's containers by label, adopts the running ones,
removes those that no longer run, starts what is missing), exactly as after a crash of
``ledgerd``. The wait is bounded by the convergence's own limits (the promotion's
deadline and cancellation, or the restore's budget), pinging the engine on a connection
of its own (see ``Engine.answers``) with a growing pause, which is not reset between two
outages of one convergence. An engine error while the engine still answers is not an
outage: it ends the convergence with a runtime error, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import requests

from ledger.domain import Cause, CauseKind, StepKind
from ledger.errors import Unavailable
from ledger.runtime import Progress
from runtime.docker.engine import ENGINE_ERRORS, Engine
from runtime.docker.health import Limits

FIRST_PAUSE = 0.1  # seconds between two pings of an engine that does not answer, at first
LONGEST_PAUSE = 2.0  # ... doubling up to this
MOST_OUTAGES = 20  # runs of one convergence lost to outages before it gives up

# Errors that mean the connection itself failed (refused, reset, closed): an outage even
# when the engine answers the next ping (it came back quickly).
CONNECTION_ERRORS = (requests.exceptions.ConnectionError, Unavailable)


class Outages:
    """Runs a convergence again each time the engine is lost and comes back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ride_out(
        self, converge: Callable[[], Cause | None], limits: Limits, progress: Progress
    ) -> Cause | None:
        """``converge()``'s result, run again after each outage of the engine; a
        ``runtime_error`` cause for an engine error that is not an outage (or after
        ``MOST_OUTAGES``), the limits' cause when they end a wait."""
        pause = FIRST_PAUSE  # not reset between outages: an engine that keeps failing
        for _ in range(MOST_OUTAGES):  # gets ever fewer attempts
            try:
                return converge()
            except (*ENGINE_ERRORS, Unavailable) as error:
                lost = self._message(error)
                if not isinstance(error, CONNECTION_ERRORS) and self.engine.answers():
                    return Cause(CauseKind.RUNTIME_ERROR, lost)
            progress.step(StepKind.ENGINE_LOST, f"{lost}; waiting for it")
            began = time.monotonic()
            cause, pause = self.wait(limits, lost, pause)
            if cause is not None:
                return cause
            progress.step(
                StepKind.ENGINE_RECONNECTED,
                f"the Docker engine answers again (after {time.monotonic() - began:.1f} s):"
                " carrying on from the containers it has",
            )
        return Cause(
            CauseKind.RUNTIME_ERROR, f"the Docker engine was lost {MOST_OUTAGES} times: giving up"
        )

    def wait(self, limits: Limits, lost: str, pause: float) -> tuple[Cause | None, float]:
        """(None once the engine answers, or the limits' cause, deadline passed or
        cancelled, if they end the wait first; the next pause). It pauses before each
        ping, the pause doubling up to ``LONGEST_PAUSE``."""
        while True:
            interrupted = limits.interruption("")
            if interrupted is not None:
                return replace(interrupted, message=f"{interrupted.message} while {lost}"), pause
            time.sleep(max(0.0, min(pause, limits.remaining())))
            pause = min(pause * 2, LONGEST_PAUSE)
            if self.engine.answers():
                return None, pause

    def _message(self, error: BaseException) -> str:
        if isinstance(error, Unavailable):
            return str(error)
        return self.engine.unreachable(error)
