"""LEDGER_METRICS: where /metrics is served, and how it is protected."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidArgument
from server.infra.settings import Settings


def test_metrics_are_served_to_deploy_keys_on_the_console_by_default() -> None:
    settings = Settings.from_env({})

    assert settings.metrics == "key"
    assert settings.metrics_listen == ""


def test_metrics_are_off_by_default_when_the_console_is_off() -> None:
    assert Settings.from_env({"LEDGER_CONSOLE_LISTEN": "off"}).metrics == "off"


@pytest.mark.parametrize("value", ["off", "OFF", "none"])
def test_metrics_are_turned_off_by_off(value: str) -> None:
    assert Settings.from_env({"LEDGER_METRICS": value}).metrics == "off"


def test_an_address_serves_metrics_there_alone() -> None:
    settings = Settings.from_env({"LEDGER_METRICS": "127.0.0.1:9464"})

    assert settings.metrics_listen == "127.0.0.1:9464"


def test_metrics_for_keys_without_a_console_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="LEDGER_CONSOLE_LISTEN"):
        Settings.from_env({"LEDGER_METRICS": "key", "LEDGER_CONSOLE_LISTEN": "off"})


@pytest.mark.parametrize("value", ["yes", "9464", "http://127.0.0.1:9464", "host:99999", "a b:1"])
def test_a_value_that_is_no_mode_and_no_address_is_refused_in_one_line(value: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        Settings.from_env({"LEDGER_METRICS": value})

    assert "\n" not in str(refused.value)
    assert "LEDGER_METRICS must be key, off, or a host:port" in str(refused.value)


def test_the_console_s_own_address_is_refused_for_metrics() -> None:
    with pytest.raises(InvalidArgument, match="an address of its own"):
        Settings.from_env(
            {"LEDGER_CONSOLE_LISTEN": "127.0.0.1:8080", "LEDGER_METRICS": "127.0.0.1:8080"}
        )
