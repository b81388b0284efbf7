"""Several ``ledgerd`` on one PostgreSQL ledger: one delivers to a target at a time, and
another takes over when it dies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.notifications.test_restart import ledgerctl
from tests.support.ledgerd import LedgerdProcess
from tests.support.receiver import Received, receiving

pytestmark = pytest.mark.postgres

SHARED_CIPHER_KEY = "c2hhcmVkLWtleS1vZi10aGUtdGVzdC1sZWRnZXIhISE="  # processes of one ledger


def apps_of(found: list[Received]) -> list[str]:
    return [r.json["app"] for r in found]


def test_two_ledgerds_deliver_each_event_once_and_the_survivor_takes_over_after_a_kill(
    ledgerd_process: Callable[..., LedgerdProcess], postgres_url: str, tmp_path: Path
) -> None:
    first, second = (
        ledgerd_process(
            {
                "LEDGER_DATABASE_URL": postgres_url,
                "LEDGER_DATA": str(tmp_path / f"ledgerd{n}"),
                "LEDGER_CIPHER_KEY": SHARED_CIPHER_KEY,
                "LEDGER_CONSOLE_LISTEN": "",
            }
        )
        for n in range(2)
    )
    before = [f"before{n}" for n in range(6)]
    after = [f"after{n}" for n in range(4)]
    with receiving() as receiver:
        ledgerctl(first).ok("notifications", "create", receiver.url, "--events", "app.created")
        for n, name in enumerate(before):
            ledgerctl((first, second)[n % 2]).ok("apps", "create", name)
        together = receiver.wait_for(len(before))

        first.kill()
        for name in after:
            ledgerctl(second).ok("apps", "create", name)
        alone = receiver.wait_until(
            "the events after the kill", lambda found: set(after) <= set(apps_of(found))
        )

    assert apps_of(together) == before  # once each, in log order: only one process sent
    assert apps_of(alone)[: len(before)] == before
    assert [a for a in apps_of(alone) if a.startswith("after")] == after
