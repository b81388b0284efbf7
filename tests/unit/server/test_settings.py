"""Settings read from LEDGER_* variables: the console's address, the runtime and its registry."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidArgument
from server.infra.settings import Settings


def test_the_console_listens_on_localhost_8080_by_default() -> None:
    assert Settings.from_env({}).console_listen == "127.0.0.1:8080"


def test_the_console_listens_where_it_is_told() -> None:
    settings = Settings.from_env({"LEDGER_CONSOLE_LISTEN": "0.0.0.0:9000"})
    assert settings.console_listen == "0.0.0.0:9000"


@pytest.mark.parametrize("value", ["off", "OFF", "none", "", "  "])
def test_the_console_is_turned_off_by_off_or_an_empty_value(value: str) -> None:
    assert Settings.from_env({"LEDGER_CONSOLE_LISTEN": value}).console_listen == ""


def test_the_swarm_runtime_is_accepted_and_built_on_the_docker_host_without_connecting() -> None:
    from runtime.swarm import SwarmRuntime
    from server.bootstrap import make_runtime

    settings = Settings.from_env(
        {"LEDGER_RUNTIME": "swarm", "LEDGER_DOCKER_HOST": "tcp://manager.example:2375"}
    )

    runtime = make_runtime(settings)

    assert isinstance(runtime, SwarmRuntime)
    assert runtime.engine.base_url == "tcp://manager.example:2375"
    assert runtime.keeps_containers and not runtime.runs_commands


def test_a_registry_makes_the_swarm_runtime_push_images_there() -> None:
    from runtime.swarm.registry import RegistryImages
    from server.bootstrap import make_runtime

    settings = Settings.from_env({"LEDGER_RUNTIME": "swarm", "LEDGER_REGISTRY": "10.0.0.5:5000"})

    runtime = make_runtime(settings)

    assert isinstance(runtime.registry, RegistryImages)  # type: ignore[attr-defined]
    assert runtime.registry.address == "10.0.0.5:5000"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["http://10.0.0.5:5000", "registry/path", "host:port", "a b"])
def test_a_registry_that_is_not_a_host_and_port_is_refused_with_an_example(value: str) -> None:
    with pytest.raises(InvalidArgument, match="LEDGER_REGISTRY must be a registry's host"):
        Settings.from_env({"LEDGER_RUNTIME": "swarm", "LEDGER_REGISTRY": value})


def test_a_thousand_apps_hot_reads_are_kept_in_memory_by_default_and_zero_keeps_none() -> None:
    assert Settings.from_env({}).hot_apps == 1000
    assert Settings.from_env({"LEDGER_HOT_APPS": "20"}).hot_apps == 20
    assert Settings.from_env({"LEDGER_HOT_APPS": "0"}).hot_apps == 0


@pytest.mark.parametrize("value", ["-1", "many"])
def test_a_negative_or_non_integer_number_of_hot_apps_is_refused(value: str) -> None:
    with pytest.raises(InvalidArgument, match="LEDGER_HOT_APPS"):
        Settings.from_env({"LEDGER_HOT_APPS": value})


def test_a_request_waits_five_seconds_for_the_database_by_default_or_as_told() -> None:
    assert Settings.from_env({}).database_timeout == 5.0
    assert Settings.from_env({"LEDGER_DATABASE_TIMEOUT": "1.5"}).database_timeout == 1.5


@pytest.mark.parametrize("value", ["0", "-2", "soon", "nan", "inf", "3601"])
def test_a_database_timeout_that_is_not_a_positive_bounded_number_is_refused(value: str) -> None:
    with pytest.raises(InvalidArgument, match="LEDGER_DATABASE_TIMEOUT"):
        Settings.from_env({"LEDGER_DATABASE_TIMEOUT": value})


def test_ledgerd_serves_on_uvloop_by_default_or_on_pythons_asyncio_loop_when_told() -> None:
    assert Settings.from_env({}).event_loop == "uvloop"
    assert Settings.from_env({"LEDGER_EVENT_LOOP": " AsyncIO "}).event_loop == "asyncio"


@pytest.mark.parametrize("value", ["trio", "", "uv loop"])
def test_an_event_loop_that_is_neither_uvloop_nor_asyncio_is_refused(value: str) -> None:
    refused = r"LEDGER_EVENT_LOOP=.* is not one of uvloop, asyncio"
    with pytest.raises(InvalidArgument, match=refused):
        Settings.from_env({"LEDGER_EVENT_LOOP": value})
