"""Writing a service spec through the manager's API, without an engine: a stale version
is read again and retried, a spec the manager refuses is said so, and the spec is sent
whole (the current one is never fetched and merged)."""

from __future__ import annotations

from typing import Any

import docker
import pytest
import requests

from ledger.ids import RELEASE, new_id
from ledger.manifest import Manifest, Service
from ledger.runtime import ReleaseSpec
from runtime.docker.engine import Engine
from runtime.swarm.services import Services, SpecRefused
from runtime.swarm.spec import service_spec

SPEC = service_spec(
    ReleaseSpec(
        app="shop",
        release_id=new_id(RELEASE),
        version=2,
        build_id="B" + "A" * 10,
        image="shop:2",
        env={},
        manifest=Manifest((Service(name="web", port=3000),)),
    ),
    Service(name="web", port=3000),
    image="sha256:abc",
    block=213,
    promotion_id="P" + "A" * 10,
    stop_grace=10.0,
    start_interval=False,
)


def api_error(status: int, text: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(text, response=response, explanation=text)


class FakeAPI:
    """The few calls ``Services.apply`` makes, answering as the test says."""

    def __init__(self, failures: list[docker.errors.APIError]) -> None:
        self.failures = failures
        self.updates: list[tuple[int, dict[str, Any]]] = []
        self.version = 7

    def inspect_service(self, name: str) -> dict[str, Any]:
        self.version += 1
        return {"ID": "svc1", "Version": {"Index": self.version}, "Spec": {"Name": name}}

    def update_service(self, service: str, version: int, **options: Any) -> None:
        self.updates.append((version, options))
        if self.failures:
            raise self.failures.pop(0)


def services(api: FakeAPI) -> Services:
    return Services(Engine(client_factory=lambda: api))  # type: ignore[arg-type,return-value]


def current(api: FakeAPI) -> Any:
    return services(api).get("shop-web")


def test_a_stale_version_is_read_again_and_the_whole_spec_retried() -> None:
    api = FakeAPI([api_error(500, "rpc error: code = Unknown desc = update out of sequence")])
    found = current(api)

    services(api).apply(SPEC, found)

    assert [version for version, _ in api.updates] == [8, 9]
    options = api.updates[-1][1]
    assert options["fetch_current_spec"] is False
    assert options["task_template"] == SPEC.task_template
    assert options["update_config"] == SPEC.update_config
    assert options["labels"] == SPEC.labels


def test_a_spec_the_manager_refuses_is_said_so_in_a_line() -> None:
    api = FakeAPI([api_error(400, "invalid reference format")])

    with pytest.raises(SpecRefused, match="invalid reference format"):
        services(api).apply(SPEC, current(api))


def test_an_engine_failure_is_not_taken_for_a_refused_spec() -> None:
    api = FakeAPI([api_error(503, "This node is not a swarm manager.")])

    with pytest.raises(docker.errors.APIError):
        services(api).apply(SPEC, current(api))


class ListingAPI:
    """The listings ``Services.used_blocks`` reads: no service, these tasks."""

    def __init__(self, tasks: list[dict[str, Any]]) -> None:
        self.rows = tasks

    def services(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return []

    def tasks(self) -> list[dict[str, Any]]:
        return self.rows


def task_row(block: int, state: str, desired: str) -> dict[str, Any]:
    labels = {"ledger.ports": str(block * 100)}
    return {
        "Spec": {"ContainerSpec": {"Labels": labels}},
        "Status": {"State": state},
        "DesiredState": desired,
    }


def test_a_task_of_a_removed_service_still_stopping_keeps_its_port_block_taken() -> None:
    api = ListingAPI(
        [
            task_row(213, "running", "running"),
            task_row(214, "running", "remove"),  # its service removed, not yet stopped
            task_row(215, "shutdown", "shutdown"),  # ended: its ports are free
        ]
    )

    used = Services(Engine(client_factory=lambda: api)).used_blocks()  # type: ignore[arg-type,return-value]

    assert used == {213, 214}
