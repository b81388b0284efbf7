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

Without a manifest the app has one service, ``web``, built from the root Dockerfile.
The manifest is stored in builds and releases as plain data (``to_dict``), so a
release always runs with the manifest it was built with.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

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
        if len(text) > MAX_MANIFEST:
            raise InvalidArgument(f"{FILENAME} is larger than {MAX_MANIFEST} bytes")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise InvalidArgument(f"{FILENAME} is not valid YAML: {error}") from None
        if data is None:
            return cls.default()
        _expect(isinstance(data, dict), "the top level must be a mapping")
        _unknown(data, {"services"}, "")
        services = data.get("services") or {}
        _expect(isinstance(services, dict), "services must be a mapping of name to service")
        if not services:
            return cls.default()
        _expect(len(services) <= MAX_SERVICES, f"at most {MAX_SERVICES} services")
        return cls(tuple(_service(str(name), spec) for name, spec in services.items()))

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
                }
                for s in self.services
            ]
        }

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise InvalidArgument(f"the manifest has no service {name}")


def _service(name: str, spec: Any) -> Service:
    where = f"services.{name}"
    _expect(SERVICE_NAME.fullmatch(name) is not None, f"{where}: a service name is [a-z][a-z0-9-]*")
    if spec is None:
        spec = {}
    _expect(isinstance(spec, dict), f"{where} must be a mapping")
    known = {"build", "dockerfile", "image", "command", "port", "health", "scale", "environment"}
    _unknown(spec, known, where)
    image = _string(spec, "image", where)
    build = _build_dir(spec, where, default="" if image else ".")
    _expect(not (image and build), f"{where}: give build or image, not both")
    return Service(
        name=name,
        build=build,
        dockerfile=_string(spec, "dockerfile", where) or "Dockerfile",
        image=image,
        command=_command(spec.get("command"), where),
        port=_port(spec.get("port"), where),
        health=_health(spec.get("health"), where),
        scale=_number(spec, "scale", where, 1, 0, MAX_SCALE, int),
        environment=_environment(spec.get("environment"), where),
    )


def _build_dir(spec: dict[str, Any], where: str, default: str) -> str:
    build = spec.get("build", default)
    if isinstance(build, dict):  # Convox also allows {path: dir, manifest: Dockerfile}
        build = build.get("path", ".")
    _expect(isinstance(build, str), f"{where}.build must be a directory")
    path = str(build).strip() or ("" if not default else ".")
    _expect(
        ".." not in path.split("/") and not path.startswith("/"),
        f"{where}.build must stay inside the source",
    )
    return path


def _command(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        _expect(all(isinstance(v, str) for v in value), f"{where}.command must be strings")
        return shlex.join(value)
    _expect(isinstance(value, str), f"{where}.command must be a string or a list")
    return str(value)


def _port(value: Any, where: str) -> int | None:
    if value is None or value is False:
        return None
    if value is True:
        return 0
    _expect(
        isinstance(value, int) and 0 <= value <= 65535,
        f"{where}.port must be a port number (the process listens on $PORT)",
    )
    return int(value)


def _health(value: Any, where: str) -> Health:
    if value is None:
        return Health()
    if isinstance(value, str):
        value = {"path": value}
    _expect(isinstance(value, dict), f"{where}.health must be a path or a mapping")
    _unknown(value, {"path", "grace", "interval", "timeout"}, f"{where}.health")
    path = _string(value, "path", f"{where}.health") or "/"
    _expect(path.startswith("/"), f"{where}.health.path must start with /")
    sub = f"{where}.health"
    return Health(
        path=path,
        grace=_number(value, "grace", sub, Health.grace, 0.0, 3600.0, float),
        interval=_number(value, "interval", sub, Health.interval, 0.1, 3600.0, float),
        timeout=_number(value, "timeout", sub, Health.timeout, 0.1, 3600.0, float),
    )


def _environment(value: Any, where: str) -> dict[str, str | None]:
    if value is None:
        return {}
    entries: dict[str, str | None] = {}
    if isinstance(value, dict):
        items = [(str(k), None if v is None else str(v)) for k, v in value.items()]
    else:
        _expect(isinstance(value, list), f"{where}.environment must be a list of KEY or KEY=value")
        items = []
        for entry in value:
            _expect(isinstance(entry, str), f"{where}.environment entries are KEY or KEY=value")
            key, sep, default = entry.partition("=")
            items.append((key, default if sep else None))
    for key, default in items:
        _expect(
            ENV_KEY.fullmatch(key) is not None, f"{where}.environment: {key!r} is not a valid key"
        )
        entries[key] = default
    return entries


def _string(spec: dict[str, Any], key: str, where: str) -> str:
    value = spec.get(key, "")
    _expect(isinstance(value, str), f"{where}.{key} must be a string")
    return str(value).strip()


def _number(
    spec: dict[str, Any], key: str, where: str, default: Any, low: Any, high: Any, kind: type
) -> Any:
    value = spec.get(key, default)
    valid = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        valid = valid and float(value).is_integer()
    _expect(valid and low <= value <= high, f"{where}.{key} must be a number from {low} to {high}")
    return kind(value)


def _unknown(spec: dict[str, Any], known: set[str], where: str) -> None:
    extra = sorted(str(k) for k in spec if k not in known)
    _expect(not extra, f"{where or 'top level'}: unknown key {', '.join(extra)}")


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidArgument(f"{FILENAME}: {message}")
