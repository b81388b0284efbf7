"""Targets get the events they select, signed, in log order, retried until delivered or
given up, and never a secret value."""

from __future__ import annotations

import socket
from pathlib import Path

from server.infra.settings import Settings
from tests.integration.cli.runner import Ledgerctl
from tests.integration.notifications.conftest import GIVE_UP_SECONDS
from tests.support.ledgerd import InProcessLedgerd
from tests.support.receiver import Received, receiving
from tests.support.runtimes import FailingRuntime

SECRET_VALUE = "s3cr3t-database-password"


def create(ctl: Ledgerctl, url: str, *argv: str) -> tuple[str, str]:
    """``notifications create --json URL ARGV``: (the target's id, its secret)."""
    created = ctl.ok("--json", "notifications", "create", url, *argv).json
    return created["target"]["id"], created["secret"]


def deliveries(ctl: Ledgerctl, target_id: str) -> list[dict[str, object]]:
    """The target's deliveries, oldest first."""
    found: list[dict[str, object]] = ctl.ok("--json", "notifications", "deliveries", target_id).json
    return found[::-1]


def test_a_receiver_gets_the_selected_events_signed_with_the_secret_printed_at_create(
    admin: Ledgerctl,
) -> None:
    with receiving() as receiver:
        result = admin.ok(
            "notifications", "create", receiver.url, "--events", "release.created,app.*"
        )
        summary, secret = result.lines
        admin.ok("apps", "create", "web")
        admin.ok("-a", "shop", "build", "--image", "shop:1")

        first, second = receiver.wait_for(2)

    assert summary.startswith("created notification target N")
    assert "not shown again" in result.stderr
    assert [first.event, second.event] == ["app.created", "release.created"]
    assert first.signed_with(secret) and second.signed_with(secret)
    assert not first.signed_with(secret + "x")
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["User-Agent"].startswith("deploy-ledger/")
    body = second.json
    assert body["event"] == "release.created" and body["type"] == "ReleaseCreated"
    assert body["app"] == "shop" and body["actor"].startswith("admin (K")
    assert body["delivery_id"] == second.headers["X-Ledger-Delivery"]
    assert body["log_position"] > first.json["log_position"]


def test_a_target_does_not_get_the_history_before_it_was_created(admin: Ledgerctl) -> None:
    with receiving() as receiver:
        target_id, _ = create(admin, receiver.url, "--events", "app.created")
        admin.ok("apps", "create", "web")

        (only,) = receiver.wait_for(1)
        listed = admin.ok("--json", "notifications").json

    assert only.json["app"] == "web"  # not shop, created before the target
    assert [(t["id"], t["events"], t["app"]) for t in listed] == [
        (target_id, ["app.created"], None)
    ]


def test_a_failing_receiver_is_retried_with_the_same_delivery_id_until_it_takes_it(
    admin: Ledgerctl,
) -> None:
    with receiving(failures=2) as receiver:
        target_id, secret = create(admin, receiver.url, "--events", "app.created")
        admin.ok("apps", "create", "web")

        (delivered,) = receiver.wait_for(1)
        attempts = list(receiver.received)

    assert [r.answered for r in attempts] == [503, 503, 204]
    assert {r.headers["X-Ledger-Delivery"] for r in attempts} == {
        delivered.headers["X-Ledger-Delivery"]
    }
    assert all(r.signed_with(secret) for r in attempts)
    (record,) = deliveries(admin, target_id)
    assert (record["status"], record["attempts"], record["status_code"]) == ("delivered", 3, 204)
    assert record["delivery_id"] == delivered.headers["X-Ledger-Delivery"]


def test_events_reach_a_target_in_log_order_across_a_failure(admin: Ledgerctl) -> None:
    with receiving(failures=2) as receiver:
        create(admin, receiver.url, "--events", "app.created")
        for name in ("one", "two", "three", "four"):
            admin.ok("apps", "create", name)

        delivered = receiver.wait_for(4)

    assert [r.json["app"] for r in delivered] == ["one", "two", "three", "four"]
    positions = [r.json["log_position"] for r in delivered]
    assert positions == sorted(positions)


def test_a_target_with_an_app_gets_only_that_app_s_events(admin: Ledgerctl) -> None:
    admin.ok("apps", "create", "web")
    with receiving() as receiver:
        create(admin, receiver.url, "--events", "release.created", "--app", "web")
        admin.ok("-a", "shop", "build", "--image", "shop:1")
        admin.ok("-a", "web", "build", "--image", "web:1")
        admin.ok("-a", "shop", "build", "--image", "shop:2")
        admin.ok("-a", "web", "build", "--image", "web:2")

        delivered = receiver.wait_for(2)

    assert [(r.json["app"], r.event) for r in delivered] == [("web", "release.created")] * 2


def test_an_event_given_up_is_recorded_failed_and_the_target_moves_on(admin: Ledgerctl) -> None:
    with receiving(refused=frozenset({"app.created"})) as receiver:
        target_id, _ = create(admin, receiver.url, "--events", "app.created,release.created")
        admin.ok("apps", "create", "web")
        admin.ok("-a", "web", "build", "--image", "web:1")

        (delivered,) = receiver.wait_for(1, timeout=GIVE_UP_SECONDS + 30)

    assert delivered.event == "release.created"
    failed, done = deliveries(admin, target_id)
    assert (failed["event"], failed["status"], failed["status_code"]) == (
        "app.created",
        "failed",
        503,
    )
    assert isinstance(failed["attempts"], int) and failed["attempts"] >= 2
    assert (done["event"], done["status"]) == ("release.created", "delivered")


def test_slack_targets_get_a_line_a_person_reads(admin: Ledgerctl) -> None:
    with receiving() as receiver:
        create(admin, receiver.url, "--events", "promotion.succeeded", "--format", "slack")
        admin.ok("-a", "shop", "deploy", "--image", "shop:1", "--wait")

        (line,) = receiver.wait_for(1)

    assert line.json == {"text": "Promoted shop v1 by admin"}


def test_no_delivered_body_holds_a_secret_value(admin: Ledgerctl) -> None:
    with receiving() as receiver:
        create(admin, receiver.url, "--events", "*")
        create(admin, receiver.url, "--events", "*", "--format", "slack")
        admin.ok("-a", "shop", "deploy", "--image", "shop:1", "--wait")
        admin.ok("-a", "shop", "env", "set", f"DATABASE_URL={SECRET_VALUE}", "--promote", "--wait")
        admin.ok("-a", "shop", "env", "set", f"TOKEN=x{SECRET_VALUE}")

        admin.ok("apps", "create", "last")  # both targets get it after every change above

        delivered = receiver.wait_until(
            "app.created of last, twice", lambda found: len(created_last(found)) == 2
        )

    assert all(SECRET_VALUE.encode() not in r.body for r in receiver.received)
    env_changes = [r.json for r in delivered if r.event == "env.changed"]
    digests = [body["data"]["values"] for body in env_changes if "data" in body]
    texts = [body["text"] for body in env_changes if "text" in body]
    assert len(digests) == len(texts) >= 2
    assert all(v.startswith("hmac-sha256:") for d in digests for v in d.values())
    assert "Env of shop changed by admin: set TOKEN" in texts


def created_last(found: list[Received]) -> list[Received]:
    return [r for r in found if r.event == "app.created" and b"last" in r.body]


def test_a_receiver_that_never_answers_holds_up_neither_writers_nor_other_targets(
    admin: Ledgerctl,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as hole, receiving() as receiver:
        # Connections to the hole are accepted by the kernel and never answered: its
        # target's first attempt hangs until the 10 s timeout.
        dead_id, _ = create(admin, f"http://127.0.0.1:{hole.getsockname()[1]}/", "--events", "*")
        create(admin, receiver.url, "--events", "app.created")
        admin.ok("apps", "create", "web")

        (delivered,) = receiver.wait_for(1)
        dead_deliveries = deliveries(admin, dead_id)

    assert delivered.json["app"] == "web"
    assert dead_deliveries == []  # still waiting for its first answer


def test_a_slack_target_reads_why_a_promotion_was_rolled_back(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "ledger", listen="127.0.0.1:0", console_listen="")
    with InProcessLedgerd(settings, FailingRuntime({"shop:bad"})) as server, receiving() as got:
        ctl = Ledgerctl(server.address, server.token)
        ctl.ok("apps", "create", "shop")
        create(ctl, got.url, "--events", "promotion.rolled_back", "--format", "slack")
        ctl.ok("-a", "shop", "deploy", "--image", "shop:1", "--wait")
        failed = ctl("-a", "shop", "deploy", "--image", "shop:bad", "--wait")

        (line,) = got.wait_for(1)

    assert failed.code != 0
    assert line.json == {
        "text": "Promotion of shop v2 failed: web exited with code 3 — rolled back to v1"
    }
