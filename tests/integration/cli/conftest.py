"""Fixtures: ``ledgerctl`` against a real in-process ledgerd over gRPC."""

from __future__ import annotations

import pytest

from tests.integration.cli.runner import Ledgerctl
from tests.support.ledgerd import InProcessLedgerd


@pytest.fixture
def ledgerctl(ledgerd: InProcessLedgerd) -> Ledgerctl:
    return Ledgerctl(ledgerd.address, ledgerd.token)


@pytest.fixture
def web(ledgerctl: Ledgerctl) -> Ledgerctl:
    """``ledgerctl`` once the app ``web`` exists."""
    ledgerctl.ok("apps", "create", "web")
    return ledgerctl
