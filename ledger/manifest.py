"""The manifest (``ledger.yml``): which services an app runs and how they are checked.

A Convox-compatible subset; every key is optional::

    services:
      web:
        build: .            # directory of the source holding the Dockerfile
        dockerfile: Dockerfile
        image: ""           # run this image instead of building (must exist on the engine)
        command: ""         # overrides the image's command
        port: 3000          # marks an HTTP service; the process listens on $PORT
        health: {path: /, grace: 30, interval: 5, timeout: 4}   # also: health: /path
        scale: 1
        environment: [REQUIRED_KEY, KEY=default]
        rollout: {parallelism: 1, order: start-first}   # or stop-first

Without a manifest the app has one service, ``web``, built from the root Dockerfile.
The manifest is stored in builds and releases as plain data (``to_dict``), so a
release always runs with the manifest it was built with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ledger.errors import InvalidArgument

FILENAME = "ledger.yml"
MAX_MANIFEST = 64 * 1024
MAX_SERVICES = 20
MAX_SCALE = 50
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class Health:
    """How a new container proves it is ready.

    With a port: checks start at once and repeat every ``interval`` seconds (each
    waits at most ``timeout``) until one answers 2xx/3xx; the container fails if none
    has within ``grace`` seconds. Without a port: the process must stay up ``grace``
    seconds.
    """

    path: str = "/"
    grace: float = 30.0
    interval: float = 5.0
    timeout: float = 4.0


Order = Literal["start-first", "stop-first"]
ORDERS: tuple[Order, ...] = ("start-first", "stop-first")


@dataclass(frozen=True)
class Rollout:
    """How a promotion replaces a service's replicas (honoured by the swarm runtime; the
    docker runtime always replaces one at a time, start-first).

    ``parallelism`` replicas at a time; ``start-first`` starts a replica's replacement
    before stopping it (no capacity lost, briefly one more), ``stop-first`` stops it
    first (for a service that cannot run twice, such as one holding a lock).
    """

    parallelism: int = 1
    order: Order = "start-first"


@dataclass(frozen=True)
class Service:
    """One process type of an app, run ``scale`` times."""

    name: str
    build: str = "."
    dockerfile: str = "Dockerfile"
    image: str = ""
    command: str = ""
    port: int | None = None
    health: Health = field(default_factory=Health)
    scale: int = 1
    environment: Mapping[str, str | None] = field(default_factory=dict)
    rollout: Rollout = field(default_factory=Rollout)

    @property
    def http(self) -> bool:
        return self.port is not None

    def missing_env(self, env: Mapping[str, str]) -> list[str]:
        """Keys the service requires (no default) that ``env`` lacks."""
        return sorted(k for k, v in self.environment.items() if v is None and k not in env)

    def env_for(self, env: Mapping[str, str]) -> dict[str, str]:
        """The release env with the manifest's defaults filled in."""
        merged = {k: v for k, v in self.environment.items() if v is not None}
        merged.update(env)
        return merged


@dataclass(frozen=True)
class Manifest:
    """The services of one build, in manifest order."""

    services: tuple[Service, ...]

    @classmethod
    def default(cls, image: str = "") -> Manifest:
        """One ``web`` service from the root Dockerfile (or running ``image``)."""
        return cls((Service(name="web", image=image, build="" if image else "."),))

    @classmethod
    def parse(cls, text: str) -> Manifest:
        """Read ``ledger.yml``; raise :class:`InvalidArgument` naming the bad key."""
        from ledger.manifest_yaml import parse  # the YAML reading rules, in their own room

        return parse(text)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """The manifest stored by :meth:`to_dict` (empty: the default)."""
        if not data or not data.get("services"):
            return cls.default()
        return cls(
            tuple(
                Service(
                    name=s["name"],
                    build=s["build"],
                    dockerfile=s["dockerfile"],
                    image=s["image"],
                    command=s["command"],
                    port=s["port"],
                    health=Health(**s["health"]),
                    scale=s["scale"],
                    environment=dict(s["environment"]),
                    rollout=Rollout(**s.get("rollout", {})),  # none before rollout settings
                )
                for s in data["services"]
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "services": [
                {
                    "name": s.name,
                    "build": s.build,
                    "dockerfile": s.dockerfile,
                    "image": s.image,
                    "command": s.command,
                    "port": s.port,
                    "health": {
                        "path": s.health.path,
                        "grace": s.health.grace,
                        "interval": s.health.interval,
                        "timeout": s.health.timeout,
                    },
                    "scale": s.scale,
                    "environment": dict(s.environment),
                    "rollout": {"parallelism": s.rollout.parallelism, "order": s.rollout.order},
                }
                for s in self.services
            ]
        }

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise InvalidArgument(f"the manifest has no service {name}")
