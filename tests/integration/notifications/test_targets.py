"""Managing targets: admin keys only; a bad target is refused in one line, nothing made."""

from __future__ import annotations

import grpc
import pytest

from ledger_api.v1 import ledger_pb2 as pb
from ledger_api.v1.ledger_pb2_grpc import LedgerStub
from tests.integration.cli.runner import Ledgerctl
from tests.support.auth import channel_to, create_key
from tests.support.ledgerd import InProcessLedgerd

URL = "http://127.0.0.1:9/hook"


@pytest.mark.parametrize("role", ["deployer", "auditor", "reader"])
def test_a_key_that_is_not_an_admin_s_may_not_manage_or_read_notifications(
    notifying: InProcessLedgerd, admin: Ledgerctl, role: str
) -> None:
    with notifying.channel() as channel:
        _, token = create_key(channel, "someone", role, *(() if role == "auditor" else ("shop",)))
    calls = [
        lambda s: s.CreateNotificationTarget(
            pb.CreateNotificationTargetRequest(url=URL, events=["app.*"], app="shop")
        ),
        lambda s: s.ListNotificationTargets(pb.ListNotificationTargetsRequest()),
        lambda s: s.ListDeliveries(pb.ListDeliveriesRequest()),
        lambda s: s.DeleteNotificationTarget(pb.DeleteNotificationTargetRequest(id="N" * 11)),
    ]
    codes = []
    with channel_to(notifying.address, token) as channel:
        for call in calls:
            with pytest.raises(grpc.RpcError) as refused:
                call(LedgerStub(channel))
            codes.append(refused.value.code())
    by_cli = admin("notifications", environ={"LEDGER_TOKEN": token})

    assert codes == [grpc.StatusCode.PERMISSION_DENIED] * 4
    assert by_cli.code == 1
    assert f"permission denied: key someone ({role}" in by_cli.stderr
    assert "may not manage notifications" in by_cli.stderr
    assert admin.ok("--json", "notifications").json == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["ftp://example.com/x", "--events", "app.*"], "use http:// or https:// and a host"),
        (["http:///nohost", "--events", "app.*"], "use http:// or https:// and a host"),
        (["example.com/hook", "--events", "app.*"], "use http:// or https:// and a host"),
        ([URL, "--events", "promotion.done"], "the promotion events are promotion.{begun,"),
        ([URL, "--events", "deploys.*"], "use a family (app.*, build.*"),
        ([URL, "--events", ","], "give at least one event name or pattern"),
        ([URL, "--events", "app.*", "--app", "nothere"], "app nothere not found"),
    ],
)
def test_a_bad_target_is_refused_in_one_line_and_nothing_is_created(
    admin: Ledgerctl, argv: list[str], says: str
) -> None:
    head = admin.ok("--json", "history", "--limit", "1").json

    refused = admin("notifications", "create", *argv)

    assert refused.code == 1 and refused.stdout == ""
    assert says in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert admin.ok("--json", "notifications").json == []
    assert admin.ok("--json", "history", "--limit", "1").json == head


def test_a_deleted_target_is_no_longer_listed_and_its_events_stop(admin: Ledgerctl) -> None:
    created = admin.ok("--json", "notifications", "create", URL, "--events", "*").json
    target_id = created["target"]["id"]

    deleted = admin.ok("notifications", "delete", target_id)
    again = admin("notifications", "delete", target_id)

    assert deleted.stdout == f"deleted notification target {target_id}\n"
    assert admin.ok("--json", "notifications").json == []
    assert again.code == 1 and "was deleted" in again.stderr
    history = admin.ok("--json", "history", "--limit", "2").json
    assert {e["type"] for e in history} == {
        "NotificationTargetCreated",
        "NotificationTargetDeleted",
    }
    assert all("secret" not in e.get("data", {}) for e in history)
