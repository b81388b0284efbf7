"""The Swarm service spec of one service of one release, built whole every time.

A spec is always sent in full (``fetch_current_spec=False``): a partial update merges
fields into whatever the service had, so a restore could keep some of the failed
release's settings. Everything that decides what runs is derived from the release, the
manifest's service, the image reference and the port block, so applying the spec of a
release again gives the same spec; its fingerprint (a label) tells whether a service
already has it, and then nothing is applied (re-running a rollout after a crash, a
restore of a release whose tasks still run).

What the spec holds: one replicated service named ``APP-SERVICE`` with ``scale``
replicas; host networking; the release's env with the manifest's defaults (and
``PORT``, see ``ports``); the manifest's command as the image's arguments; an init
process as PID 1; labels saying whose it is (the service's also carry the promotion,
the task's do not, so a new promotion of the same spec restarts nothing).

Health: an HTTP service gets a Docker health check run inside the container (``wget``,
else ``curl``, of ``http://127.0.0.1:$PORT<path>``): failures during ``grace`` (the
start period) do not count, and ``RETRIES`` failures in a row after it make the task
unhealthy, which Swarm fails and replaces. A task is reported running only once
healthy. A service without a port has no health check (``NONE``, also overriding the
image's): it must stay up ``grace`` seconds.

Updates (``UpdateConfig``, always given in full): the manifest's ``rollout`` (by default
one task at a time, ``start-first``),
``failure_action=pause`` (the ledger restores, never Swarm on its own),
``max_failure_ratio=0`` and a ``monitor`` window covering the whole health check (see
:func:`monitor_seconds`).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import docker

from ledger.manifest import Health, Service
from ledger.runtime import ReleaseSpec
from runtime.docker.labels import APP, MANAGED, PROMOTION, RELEASE, SERVICE, VERSION
from runtime.swarm.ports import block_base, port_template

PORTS = "ledger.ports"  # the first port of the spec's block ("" without a port)
FINGERPRINT = "ledger.spec"  # the hash of everything that decides what runs

RETRIES = 3  # failed checks in a row, after the start period, that make a task unhealthy
START_INTERVAL = 0.5  # seconds between checks during the start period (engines >= 25)
MONITOR_MARGIN = 2.0  # seconds added to the health check's own worst case
RESTART_DELAY = 5.0  # seconds between restarts of a failed task


def seconds(value: float) -> int:
    """A duration as the engine takes it: integer nanoseconds."""
    return round(value * 1_000_000_000)


def service_name(app: str, service: str) -> str:
    """``APP-SERVICE``: the Swarm service of one manifest service."""
    return f"{app}-{service}"


def monitor_seconds(service: Service) -> float:
    """How long Swarm watches each updated task for a failure (and the last one before it
    says ``completed``): the health check's start period, ``RETRIES`` checks with their
    timeouts, and a margin; a service without a port must stay up ``grace``."""
    health = service.health
    if not service.http:
        return health.grace + MONITOR_MARGIN
    return health.grace + RETRIES * (health.interval + health.timeout) + MONITOR_MARGIN


@dataclass(frozen=True)
class ServiceSpec:
    """A whole service spec, ready to create or update a service with."""

    name: str
    labels: dict[str, str]
    task_template: dict[str, Any]
    mode: dict[str, Any]
    update_config: dict[str, Any]
    fingerprint: str


def service_spec(
    release: ReleaseSpec,
    service: Service,
    *,
    image: str,
    block: int | None,
    promotion_id: str,
    stop_grace: float,
    start_interval: bool,
) -> ServiceSpec:
    """The spec of ``service`` of ``release`` running ``image``; ``block`` is the port
    block of an HTTP service (None without a port); ``start_interval``: the engine
    takes a health check's ``StartInterval`` (API 1.44+)."""
    name = service_name(release.app, service.name)
    owner = {
        MANAGED: "true",
        APP: release.app,
        RELEASE: release.release_id,
        VERSION: str(release.version),
        SERVICE: service.name,
        PORTS: "" if block is None else str(block_base(block)),
    }
    container = docker.types.ContainerSpec(
        image=image,
        args=shlex.split(service.command) if service.command else None,
        env=_env(service.env_for(release.env), block),
        labels=owner,
        healthcheck=_healthcheck(service, start_interval),
        init=True,
        stop_grace_period=seconds(stop_grace),
    )
    restart = docker.types.RestartPolicy(
        condition="any", delay=seconds(RESTART_DELAY), max_attempts=0, window=0
    )
    template = docker.types.TaskTemplate(container, restart_policy=restart, networks=["host"])
    mode = docker.types.ServiceMode("replicated", replicas=service.scale)
    update = docker.types.UpdateConfig(
        parallelism=min(service.rollout.parallelism, max(service.scale, 1)),
        delay=0,
        failure_action="pause",
        monitor=seconds(monitor_seconds(service)),
        max_failure_ratio=0,
        order=service.rollout.order,
    )
    decisive = {"name": name, "template": template, "mode": mode, "update": update}
    fingerprint = hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:24]
    labels = {**owner, PROMOTION: promotion_id, FINGERPRINT: fingerprint}
    return ServiceSpec(name, labels, dict(template), dict(mode), dict(update), fingerprint)


def _env(env: Mapping[str, str], block: int | None) -> list[str]:
    """``KEY=value`` entries; Swarm expands Go templates in env values, so a literal
    ``{{`` in a value is written as a template that prints it."""
    entries = [f"{key}={_literal(value)}" for key, value in sorted(env.items()) if key != "PORT"]
    if block is not None:
        entries.append(f"PORT={port_template(block)}")
    return entries


def _literal(value: str) -> str:
    return value.replace("{{", '{{"{{"}}')


def _healthcheck(service: Service, start_interval: bool) -> docker.types.Healthcheck:
    if not service.http:
        return cast(docker.types.Healthcheck, {"Test": ["NONE"]})  # no None fields sent
    health: Health = service.health
    check = docker.types.Healthcheck(
        test=["CMD-SHELL", probe_script(health.path, health.timeout)],
        interval=seconds(health.interval),
        timeout=seconds(health.timeout),
        retries=RETRIES,
        start_period=seconds(health.grace),
    )
    if start_interval:
        check["StartInterval"] = seconds(min(health.interval, START_INTERVAL))
    return check


def probe_script(path: str, timeout: float) -> str:
    """The shell line a container runs to check itself: GET ``127.0.0.1:$PORT<path>``
    with the image's ``wget`` or ``curl``; non-zero unless the answer is 2xx/3xx. No
    timeout is given to ``wget`` (busybox 1.35's crashes on ``-T``): the health check's
    own timeout stops it."""
    url = f'url=http://127.0.0.1:"$PORT"{shlex.quote(path)}'
    wait = max(1, round(timeout))
    return "; ".join(
        [
            url,
            'if command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null "$url"; fi',
            "if command -v curl >/dev/null 2>&1;"
            f' then exec curl -fsS -m {wait} -o /dev/null "$url"; fi',
            'echo "the image has neither wget nor curl to check $url"',
            "exit 1",
        ]
    )
