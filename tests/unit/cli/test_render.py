"""Proto → JSON dicts: exact keys, nulls for empty ids and unset times, integer versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from cli import render
from ledger_api.v1 import ledger_pb2 as pb
from tests.support.contract import APP_KEYS, BUILD_KEYS, PROMOTION_KEYS, RELEASE_KEYS


def ts(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


MOMENT = ts(1795721288, 123456789)  # 2026-11-26T19:28:08.123456789Z


def test_timestamp_is_rfc3339_utc_with_microseconds() -> None:
    release = pb.Release(id="R1", created_at=MOMENT)
    assert render.release(release)["created_at"] == "2026-11-26T19:28:08.123456Z"


def test_timestamp_at_the_epoch_is_not_mistaken_for_unset() -> None:
    release = pb.Release(id="R1", created_at=ts(0))
    assert render.release(release)["created_at"] == "1970-01-01T00:00:00.000000Z"


def test_format_time_converts_other_zones_to_utc() -> None:
    from datetime import timedelta, timezone

    moment = datetime(2026, 11, 26, 20, 0, tzinfo=timezone(timedelta(hours=1)))
    assert render.format_time(moment) == "2026-11-26T19:00:00.000000Z"


def test_release_json_has_every_contract_key() -> None:
    assert render.release(pb.Release(id="R1")).keys() >= RELEASE_KEYS


def test_release_json_has_null_parent_when_none() -> None:
    assert render.release(pb.Release(id="R1"))["parent_id"] is None


def test_release_json_has_null_times_when_unset() -> None:
    data = render.release(pb.Release(id="R1"))
    assert data["created_at"] is None
    assert data["last_activated_at"] is None


def test_release_json_version_is_an_integer() -> None:
    data = render.release(pb.Release(id="R1", version=3))
    assert data["version"] == 3
    assert json.loads(render.dumps(data))["version"] == 3


def test_release_json_carries_the_set_fields() -> None:
    release = pb.Release(
        id="R1",
        app="web",
        version=2,
        build_id="B1",
        env_version=4,
        reason="env",
        parent_id="R0",
        description="d",
        actor="ann@host",
        active=True,
        ever_active=True,
        image="nginx:1",
    )
    data = render.release(release)
    assert data["app"] == "web"
    assert data["build_id"] == "B1"
    assert data["parent_id"] == "R0"
    assert data["env_version"] == 4
    assert data["reason"] == "env"
    assert data["active"] is True
    assert data["ever_active"] is True
    assert data["image"] == "nginx:1"


def test_release_json_has_env_only_when_asked() -> None:
    release = pb.Release(id="R1", env={"B": "2", "A": "1"})
    assert "env" not in render.release(release)
    assert render.release(release, with_env=True)["env"] == {"A": "1", "B": "2"}


def test_build_json_has_every_contract_key_and_null_release_before_success() -> None:
    data = render.build(pb.Build(id="B1", status="running"))
    assert data.keys() >= BUILD_KEYS
    assert data["release_id"] is None
    assert data["started_at"] is None
    assert data["ended_at"] is None


def test_promotion_json_has_every_contract_key() -> None:
    data = render.promotion(pb.Promotion(id="P1", status="pending"))
    assert data.keys() >= PROMOTION_KEYS
    assert data["previous_release_id"] is None


def test_promotion_json_cause_is_null_without_a_failure() -> None:
    assert render.promotion(pb.Promotion(id="P1"))["cause"] is None


def test_promotion_json_cause_is_an_object_when_set() -> None:
    promotion = pb.Promotion(
        id="P1",
        status="rolled_back",
        cause=pb.PromotionCause(kind="health_check_failed", service="web", exit_code=0),
    )
    cause = render.promotion(promotion)["cause"]
    assert cause["kind"] == "health_check_failed"
    assert cause["service"] == "web"


def test_promotion_json_steps_are_a_list_of_position_time_kind_message() -> None:
    promotion = pb.Promotion(
        id="P1",
        steps=[pb.PromotionStep(position=7, time=MOMENT, kind="started", message="go")],
    )
    assert render.promotion(promotion)["steps"] == [
        {"position": 7, "time": "2026-11-26T19:28:08.123456Z", "kind": "started", "message": "go"}
    ]


def test_app_json_promotion_is_null_when_none_is_in_flight() -> None:
    data = render.app(pb.App(name="web"))
    assert data.keys() >= APP_KEYS
    assert data["promotion"] is None
    assert data["active_release_id"] is None


def test_app_json_promotion_is_the_in_flight_promotion() -> None:
    app = pb.App(name="web", promotion=pb.Promotion(id="P1", status="running"))
    assert render.app(app)["promotion"]["id"] == "P1"


def test_event_json_data_is_the_parsed_object() -> None:
    event = pb.Event(position=3, type="EnvChanged", data='{"added": ["A"]}', request_id="")
    data = render.event(event)
    assert data == {
        "position": 3,
        "type": "EnvChanged",
        "app": None,
        "actor": "",
        "time": None,
        "request_id": None,
        "data": {"added": ["A"]},
    }


def test_event_json_data_is_an_empty_object_when_the_server_sent_none() -> None:
    assert render.event(pb.Event(position=1))["data"] == {}


def test_env_json_is_version_and_sorted_env() -> None:
    env = pb.Env(app="web", version=5, values={"Z": "1", "A": "2"})
    assert render.env(env) == {"version": 5, "env": {"A": "2", "Z": "1"}, "masked": False}
    assert list(render.env(env)["env"]) == ["A", "Z"]


def test_env_update_json_has_null_release_and_promotion_when_unset() -> None:
    response = pb.UpdateEnvResponse(env_version=2, added=["A"])
    assert render.env_update(response) == {
        "env_version": 2,
        "added": ["A"],
        "changed": [],
        "removed": [],
        "release": None,
        "promotion": None,
    }


def test_rack_release_json() -> None:
    item = pb.RackRelease(version="0.1.0", started_at=MOMENT, position=9)
    assert render.rack_release(item) == {
        "version": "0.1.0",
        "started_at": "2026-11-26T19:28:08.123456Z",
        "until": None,
        "position": 9,
    }


def test_a_rack_release_another_version_followed_says_until_when() -> None:
    item = pb.RackRelease(version="0.1.0", started_at=MOMENT, until=MOMENT, position=9)
    assert render.rack_release(item)["until"] == "2026-11-26T19:28:08.123456Z"


def test_to_timestamp_round_trips_through_render() -> None:
    moment = datetime(2026, 11, 26, 19, 28, 8, 5, tzinfo=UTC)
    release = pb.Release(created_at=render.to_timestamp(moment))
    assert render.release(release)["created_at"] == "2026-11-26T19:28:08.000005Z"
