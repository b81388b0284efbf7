"""An UNAVAILABLE that ledgerd answers itself (something it depends on is down) is told
apart from a ledgerd that cannot be reached: the message says what is down."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from server.infra.settings import Settings
from tests.integration.cli.runner import Ledgerctl
from tests.support.ledgerd import InProcessLedgerd

NOWHERE = "unix:///nonexistent/docker.sock"


@pytest.fixture
def engineless(ledgerd_settings: Settings) -> Iterator[InProcessLedgerd]:
    """A ledgerd on the docker runtime whose engine is not there."""
    settings = dataclasses.replace(ledgerd_settings, runtime="docker", docker_host=NOWHERE)
    with InProcessLedgerd(settings) as server:
        yield server


@pytest.mark.parametrize("ledgerd_settings", ["sqlite"], indirect=True)
def test_ps_with_the_engine_down_says_ledgerd_cannot_reach_the_engine(
    engineless: InProcessLedgerd,
) -> None:
    ledgerctl = Ledgerctl(engineless.address, engineless.token)
    ledgerctl.ok("apps", "create", "shop")

    result = ledgerctl("ps", "shop")

    assert (result.code, result.stdout) == (4, "")
    assert result.stderr.startswith(f"ledgerctl: error: ledgerd at {engineless.address}: ")
    assert "Docker engine" in result.stderr and "cannot reach ledgerd" not in result.stderr
