"""A ``ledgerd`` killed with -9 while delivering resumes after a restart from the first
event not yet delivered: every event at least once, in log order, none skipped."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.cli.runner import Ledgerctl
from tests.support.ledgerd import LedgerdProcess
from tests.support.receiver import receiving

APPS = [f"app{n:02}" for n in range(30)]
ENV = {"LEDGER_NOTIFY_GIVE_UP_SECONDS": "120", "LEDGER_CONSOLE_LISTEN": ""}


def ledgerctl(server: LedgerdProcess) -> Ledgerctl:
    ctl = Ledgerctl(server.address, server.token)
    ctl.environ["LEDGER_APP"] = ""
    return ctl


def test_delivery_resumes_after_a_kill_9_with_every_event_in_order_and_no_gap(
    ledgerd_process: Callable[..., LedgerdProcess],
) -> None:
    server = ledgerd_process(ENV)
    with receiving(delay=0.05) as receiver:  # a slow receiver: the kill lands mid-stream
        ledgerctl(server).ok("notifications", "create", receiver.url, "--events", "app.created")
        for name in APPS:
            ledgerctl(server).ok("apps", "create", name)
        receiver.wait_for(5)

        server.kill()
        before = len(receiver.delivered())
        restarted = ledgerd_process(ENV)
        delivered = receiver.wait_until(
            "every app.created", lambda found: {r.json["app"] for r in found} == set(APPS)
        )
        deliveries = ledgerctl(restarted).ok("--json", "notifications", "deliveries").json

    assert before < len(APPS)
    positions = [r.json["log_position"] for r in delivered]
    assert positions == sorted(positions)  # in log order; a repeat only of the last one sent
    assert len(positions) - len(set(positions)) <= 1
    by_position = {r.json["log_position"]: r.headers["X-Ledger-Delivery"] for r in delivered}
    assert all(
        by_position[r.json["log_position"]] == r.headers["X-Ledger-Delivery"] for r in delivered
    )
    assert {d["log_position"] for d in deliveries} == set(positions)
    assert {d["status"] for d in deliveries} == {"delivered"}
