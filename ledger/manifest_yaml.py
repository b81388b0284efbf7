"""Reading ``ledger.yml`` into a :class:`~ledger.manifest.Manifest`: each key checked,
and every refusal an ``InvalidArgument`` naming the key (``services.web.port must be``…).

Apart from the manifest's data classes because these are the rules of one format; the
manifest itself is stored in builds and releases as plain data (``Manifest.to_dict``).
"""

from __future__ import annotations

import shlex
from typing import Any

import yaml

from ledger.errors import InvalidArgument
from ledger.manifest import (
    ENV_KEY,
    FILENAME,
    MAX_MANIFEST,
    MAX_SCALE,
    MAX_SERVICES,
    ORDERS,
    SERVICE_NAME,
    Health,
    Manifest,
    Rollout,
    Service,
)

SERVICE_KEYS = frozenset(
    {"build", "dockerfile", "image", "command", "port", "health", "scale", "environment", "rollout"}
)


def parse(text: str) -> Manifest:
    """Read ``ledger.yml``; raise :class:`InvalidArgument` naming the bad key."""
    if len(text) > MAX_MANIFEST:
        raise InvalidArgument(f"{FILENAME} is larger than {MAX_MANIFEST} bytes")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidArgument(f"{FILENAME} is not valid YAML: {error}") from None
    if data is None:
        return Manifest.default()
    _expect(isinstance(data, dict), "the top level must be a mapping")
    _unknown(data, {"services"}, "")
    services = data.get("services") or {}
    _expect(isinstance(services, dict), "services must be a mapping of name to service")
    if not services:
        return Manifest.default()
    _expect(len(services) <= MAX_SERVICES, f"at most {MAX_SERVICES} services")
    return Manifest(tuple(_service(str(name), spec) for name, spec in services.items()))


def _service(name: str, spec: Any) -> Service:
    where = f"services.{name}"
    _expect(SERVICE_NAME.fullmatch(name) is not None, f"{where}: a service name is [a-z][a-z0-9-]*")
    if spec is None:
        spec = {}
    _expect(isinstance(spec, dict), f"{where} must be a mapping")
    _unknown(spec, set(SERVICE_KEYS), where)
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
        rollout=_rollout(spec.get("rollout"), where),
    )


def _rollout(value: Any, where: str) -> Rollout:
    if value is None:
        return Rollout()
    sub = f"{where}.rollout"
    _expect(isinstance(value, dict), f"{sub} must be a mapping: {{parallelism, order}}")
    _unknown(value, {"parallelism", "order"}, sub)
    given = _string(value, "order", sub) or Rollout.order
    orders = [order for order in ORDERS if order == given]
    _expect(bool(orders), f"{sub}.order must be one of {', '.join(ORDERS)}")
    parallelism = _number(value, "parallelism", sub, Rollout.parallelism, 1, MAX_SCALE, int)
    return Rollout(parallelism=parallelism, order=orders[0])


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
