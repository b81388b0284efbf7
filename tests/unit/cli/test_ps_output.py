"""``ledgerctl ps`` output: each task as ``web.2`` with its node, state, release (``v3`` and
its id), port and age, a failed one with its message; and the ``--json`` keys."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from cli import render, views
from ledger_api.v1 import ledger_pb2 as pb

NOW = datetime(2026, 11, 27, 9, 10, 0, tzinfo=UTC)
FIVE_MINUTES_AGO = Timestamp(seconds=int(NOW.timestamp()) - 300)
RELEASE = "R1234567890"


def web(slot: int, **fields: object) -> pb.Task:
    values: dict[str, object] = {
        "service": "web",
        "slot": slot,
        "node": "node-1",
        "state": "running",
        "release_id": RELEASE,
        "release_version": 3,
        "port": 21300 + slot,
        "since": FIVE_MINUTES_AGO,
        **fields,
    }
    return pb.Task(**values)


def test_ps_shows_each_task_with_its_node_state_release_port_and_age() -> None:
    out = views.tasks_table([web(1), web(2, node="node-2")], NOW)

    assert out.splitlines() == [
        "TASK   NODE    STATE    RELEASE          PORT  SINCE      MESSAGE",
        f"web.1  node-1  running  v3 {RELEASE}  21301  5m00s ago",
        f"web.2  node-2  running  v3 {RELEASE}  21302  5m00s ago",
    ]


def test_ps_shows_why_a_failed_task_ended_on_its_line() -> None:
    failed = web(1, state="failed", message="task: non-zero exit (3)\nmore")

    (line,) = views.tasks_table([failed], NOW).splitlines()[1:]

    assert line == f"web.1  node-1  failed  v3 {RELEASE}  21301  5m00s ago  task: non-zero exit (3)"


def test_ps_shows_a_dash_for_what_the_runtime_did_not_say() -> None:
    unplaced = pb.Task(service="worker", slot=1, state="pending")

    (line,) = views.tasks_table([unplaced], NOW).splitlines()[1:]

    assert line.split() == ["worker.1", "-", "pending", "-", "-", "-"]


def test_ps_json_has_each_task_s_fields_with_null_for_no_port_and_no_time() -> None:
    assert render.task(web(2)) == {
        "service": "web",
        "slot": 2,
        "node": "node-1",
        "state": "running",
        "release_id": RELEASE,
        "release_version": 3,
        "port": 21302,
        "since": "2026-11-27T09:05:00.000000Z",
        "message": "",
    }
    bare = render.task(pb.Task(service="worker", slot=1, state="pending"))
    assert (bare["port"], bare["since"], bare["release_id"]) == (None, None, None)
