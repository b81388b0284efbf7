"""Where the app's replicas run on the engine, as the runtime port's placements (``ps``).

A replica is a container of ours: its labels (see ``labels``) give its service, its
index (the task's slot), its release and its port; the engine gives its state, and when
it started or ended and how (one inspect per container). Every replica container the
engine lists is shown, a stopped one too: a healthy replica whose process dies is
started again by the engine (restarting, then running), but one killed or stopped by
hand stays listed, exited with its exit code, until the next promotion removes it; that
is what an operator looks for. Its output is not shown:
it may hold env values, which only steps and causes have masked.

One engine runs everything, so every task's node is that engine's host name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ledger.runtime import TaskPlacement
from runtime.docker.containers import Containers, State
from runtime.docker.labels import ContainerInfo

GONE = "removed"  # Containers.state of a container removed since it was listed
ENDED = frozenset({"exited", "dead"})
_EPOCH = datetime.min.replace(tzinfo=UTC)


class Placements:
    """Reads the app's replica containers into placements (the engine's host read once)."""

    def __init__(self, containers: Containers) -> None:
        self.containers = containers
        self._node = ""

    def of_app(self, app: str) -> list[TaskPlacement]:
        """Every replica container of ``app`` the engine lists, by service, then slot,
        newest first. Raises the SDK's errors (the adapter translates them)."""
        found = [(c, self.containers.state(c)) for c in self.containers.of_app(app)]
        return arranged([(c, state) for c, state in found if state.status != GONE], self.node())

    def node(self) -> str:
        """The engine's host name, as ``docker info`` names it (asked once)."""
        if not self._node:
            info = self.containers.engine.api.info()
            self._node = str(info.get("Name") or "")
        return self._node


def arranged(found: Iterable[tuple[ContainerInfo, State]], node: str) -> list[TaskPlacement]:
    """The containers with their states as placements on ``node``: by service, then slot,
    newest first."""
    ordered = sorted(found, key=lambda pair: _order(pair[0]))
    return [placement_of(container, state, node) for container, state in ordered]


def placement_of(container: ContainerInfo, state: State, node: str) -> TaskPlacement:
    """One replica container as a placement: since when it runs (or ended), and for one
    that ended, how (its exit code, and the engine's error if it gave one)."""
    ended = not state.running and state.status in ENDED
    since = state.finished_at if ended else state.started_at
    return TaskPlacement(
        service=container.service,
        slot=container.index,
        node=node,
        state=state.status or container.state,
        release_id=container.release,
        release_version=int(container.version) if container.version.isdigit() else 0,
        port=container.port,
        since=since or container.created,
        message=how_it_ended(state) if ended else "",
    )


def how_it_ended(state: State) -> str:
    """``exit code 137 (out of memory)``, or with the engine's error after a colon."""
    text = f"exit code {state.exit_code}"
    if state.oom_killed:
        text += " (out of memory)"
    if state.error:
        text += f": {state.error}"
    return text


def _order(container: ContainerInfo) -> tuple[str, int, float]:
    """By service, then slot, newest first."""
    return container.service, container.index, -(container.created or _EPOCH).timestamp()
