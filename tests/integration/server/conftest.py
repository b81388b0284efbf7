"""Module-scoped fixtures of the hostile-input tests (``test_hostile_*.py``): one seeded
in-process ledgerd on SQLite per test module, shared by all of its (many) examples.

A module may override ``hostile_settings`` to run its ledgerd with other settings (the
limits tests use small ones).
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from server.infra.settings import Settings
from tests.integration.server.hostile import Hostile, Seed, seed_ledger
from tests.support.ledgerd import InProcessLedgerd


@pytest.fixture(scope="module")
def hostile_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A fresh SQLite ledger on a free port, with the default limits."""
    data_dir = tmp_path_factory.mktemp("hostile") / "ledger"
    return Settings(data_dir=data_dir, listen="127.0.0.1:0", console_listen="127.0.0.1:0")


@pytest.fixture(scope="module")
def hostile_ledgerd(hostile_settings: Settings) -> Iterator[InProcessLedgerd]:
    """One real ledgerd for the whole module."""
    with InProcessLedgerd(hostile_settings) as server:
        yield server


@pytest.fixture(scope="module")
def hostile_channel(hostile_ledgerd: InProcessLedgerd) -> Iterator[grpc.Channel]:
    """A channel to the module's ledgerd that signs in with its admin key."""
    with hostile_ledgerd.channel() as channel:
        yield channel


@pytest.fixture(scope="module")
def hostile_seed(hostile_channel: grpc.Channel) -> Seed:
    """Two apps with builds, releases, promotions and env, keys and page tokens."""
    return seed_ledger(hostile_channel)


@pytest.fixture(scope="module")
def hostile(
    hostile_ledgerd: InProcessLedgerd, hostile_channel: grpc.Channel, hostile_seed: Seed
) -> Hostile:
    """Sends hostile requests to the seeded ledgerd and checks each answer."""
    return Hostile(hostile_ledgerd, hostile_channel, hostile_seed)
