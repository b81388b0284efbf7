"""Fixtures: an in-process ledgerd whose notifications give up after a few seconds, and
``ledgerctl`` signed in to it as admin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.infra.settings import Settings
from tests.integration.cli.runner import Ledgerctl
from tests.support.ledgerd import InProcessLedgerd

GIVE_UP_SECONDS = 3


@pytest.fixture
def notifying(tmp_path: Path) -> Iterator[InProcessLedgerd]:
    settings = Settings(
        data_dir=tmp_path / "ledger",
        listen="127.0.0.1:0",
        console_listen="",
        notify_give_up_seconds=GIVE_UP_SECONDS,
    )
    with InProcessLedgerd(settings) as server:
        yield server


@pytest.fixture
def admin(notifying: InProcessLedgerd) -> Ledgerctl:
    """``ledgerctl`` as the admin key, once the app ``shop`` exists."""
    ctl = Ledgerctl(notifying.address, notifying.token)
    ctl.environ["LEDGER_APP"] = ""  # commands name their app (-a) or concern every app
    ctl.ok("apps", "create", "shop")
    return ctl
