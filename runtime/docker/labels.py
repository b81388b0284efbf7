"""What our containers carry: labels, names, and the record read back from them.

Every container we run carries labels saying whose it is (``ledger.app``,
``ledger.release``, ``ledger.version``, ``ledger.promotion``, ``ledger.service``,
``ledger.index``, ``ledger.port``, ``ledger.managed=true``). The engine is the only
record of what runs: a new ``ledgerd`` after a crash finds the app's containers by label.
Names are ``ledger-<app>-<service>-<release id>-<n>``: unique per replica of a release
and readable in ``docker ps``.

A one-off command's container (see ``oneoff``) carries the labels that say whose it is
(app, release, version, service) and ``ledger.run`` (the run's id), but not
``ledger.managed``: every listing of an app's serving replicas selects by that label, so
a one-off is never adopted, counted, replaced or removed as one. Its name is
``ledger-<app>-run-<run id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MANAGED = "ledger.managed"
APP = "ledger.app"
RELEASE = "ledger.release"
VERSION = "ledger.version"
PROMOTION = "ledger.promotion"
SERVICE = "ledger.service"
INDEX = "ledger.index"
PORT = "ledger.port"
RUN = "ledger.run"


@dataclass(frozen=True)
class ContainerInfo:
    """One of our containers as the engine lists it."""

    id: str
    name: str
    app: str
    release: str
    version: str
    promotion: str
    service: str
    index: int
    port: int | None
    state: str  # running | created | exited | dead | restarting | paused | removing
    run: str = ""  # the run id of a one-off command's container ("" for a replica)
    created: datetime | None = None  # as the engine lists it (None: not listed yet)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def title(self) -> str:
        """How people name a replica: ``web.2``."""
        return f"{self.service}.{self.index}"

    @property
    def release_label(self) -> str:
        """``v3`` (or the release id when the version is unknown)."""
        return f"v{self.version}" if self.version else self.release


def container_name(app: str, service: str, release_id: str, index: int) -> str:
    return f"ledger-{app}-{service}-{release_id}-{index}"


def run_name(app: str, run_id: str) -> str:
    """The name of a one-off command's container (characters a name cannot hold become -)."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "_.-") else "-" for ch in run_id)
    return f"ledger-{app}-run-{safe}"


def from_row(row: dict[str, Any]) -> ContainerInfo:
    """A container as ``GET /containers/json`` lists it."""
    labels: dict[str, str] = row.get("Labels") or {}
    names: list[str] = row.get("Names") or []
    name = names[0].lstrip("/") if names else str(row["Id"])[:12]
    index = labels.get(INDEX, "")
    port = labels.get(PORT, "")
    created = row.get("Created")
    return ContainerInfo(
        id=str(row["Id"]),
        name=name,
        app=labels.get(APP, ""),
        release=labels.get(RELEASE, ""),
        version=labels.get(VERSION, ""),
        promotion=labels.get(PROMOTION, ""),
        service=labels.get(SERVICE, ""),
        index=int(index) if index.isdigit() else 0,
        port=int(port) if port.isdigit() else None,
        state=str(row.get("State", "")),
        run=labels.get(RUN, ""),
        created=datetime.fromtimestamp(created, UTC) if isinstance(created, int) else None,
    )
