"""The read model answers from projections of a real ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

from ledger.commands import (
    CreateBuild,
    CreateKey,
    PromoteRelease,
    RevokeKey,
    RollbackRelease,
    UpdateEnv,
)
from ledger.domain import Meta, Rack, event_type
from ledger.keys import KeyService
from ledger.read_model import ReadModel
from ledger.schema import LOG_SCHEMA
from projections import LedgerViews, ProjectionWorker
from tests.integration.projections.conftest import ALICE, Ledger
from tests.support.builds import image_build

SECRET = "s3cr3t-value-that-must-never-leak"


def catch_up(ledger: Ledger, views: LedgerViews) -> int:
    return ProjectionWorker(ledger.app, views).catch_up()


def test_the_views_satisfy_the_read_model_protocol(views: LedgerViews) -> None:
    read_model: ReadModel = views
    assert read_model.position() == 0
    assert read_model.list_apps() == []
    assert read_model.active_release_as_of("web") == ("", 0)


def test_the_apps_view_shows_the_active_release_after_a_promotion(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("web")
    catch_up(ledger, views)
    app = views.get_app("web")
    assert app is not None and app.active_release_id == "" and app.actor == ALICE.actor

    release_id, _ = ledger.deploy("web", "nginx:1")
    catch_up(ledger, views)

    app = views.get_app("web")
    assert app is not None
    assert app.active_release_id == release_id
    assert (app.release_count, app.latest_release_id) == (1, release_id)
    assert (app.promotion_id, app.desired_release_id) == ("", "")
    assert views.get_app("nope") is None
    assert views.active_release_as_of("web") == (release_id, views.position())


def test_apps_are_listed_by_name_and_paged_after_a_name(ledger: Ledger, views: LedgerViews) -> None:
    for name in ("c", "a", "b"):
        ledger.create_app(name)
    catch_up(ledger, views)
    assert [a.name for a in views.list_apps(limit=2)] == ["a", "b"]
    assert [a.name for a in views.list_apps(after="b")] == ["c"]


def test_a_promotion_in_flight_shows_on_the_app_and_in_promotions_in_flight(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("web")
    built = image_build(ledger.service, CreateBuild(app="web", image="nginx:1"), ALICE)
    ledger.runtime.gate.clear()
    promoted = ledger.service.promote(PromoteRelease(app="web"), ALICE)
    catch_up(ledger, views)

    app = views.get_app("web")
    assert app is not None
    assert (app.promotion_id, app.desired_release_id) == (promoted.promotion_id, built.release_id)
    assert app.active_release_id == ""
    in_flight = views.promotions_in_flight()
    assert [p.id for p in in_flight] == [promoted.promotion_id]
    assert in_flight[0].status in ("pending", "running")

    ledger.runtime.gate.set()
    ledger.wait_promotion(promoted.promotion_id)
    catch_up(ledger, views)
    assert views.promotions_in_flight() == []
    app = views.get_app("web")
    assert app is not None and app.active_release_id == built.release_id


def test_releases_list_newest_first_with_the_active_flag_and_when_each_was_active(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("web")
    v1, _ = ledger.deploy("web", "nginx:1")
    v2, _ = ledger.deploy("web", "nginx:2")
    v3 = image_build(ledger.service, CreateBuild(app="web", image="nginx:3"), ALICE).release_id
    rollback = ledger.service.rollback(RollbackRelease(app="web", release_id=v1), ALICE)
    ledger.wait_promotion(rollback.promotion_id)
    v4 = rollback.release_id
    catch_up(ledger, views)

    releases = views.list_releases("web")
    assert [(r.id, r.version) for r in releases] == [(v4, 4), (v3, 3), (v2, 2), (v1, 1)]
    assert [r.active for r in releases] == [True, False, False, False]
    assert [r.ever_active for r in releases] == [True, False, True, True]
    assert releases[1].last_activated_at is None
    last_activated = [r.last_activated_at for r in releases if r.last_activated_at]
    assert last_activated == sorted(last_activated, reverse=True)
    assert (releases[0].reason, releases[0].parent_id) == ("rollback", v1)
    assert (releases[0].build_id, releases[0].image) == (releases[3].build_id, "nginx:1")
    assert all(r.app == "web" and r.actor == ALICE.actor for r in releases)
    assert [r.version for r in views.list_releases("web", before_version=3)] == [2, 1]
    assert [r.version for r in views.list_releases("web", limit=1)] == [4]
    assert views.get_release(v3) == releases[1]
    assert views.get_release("RNOPENOPENO") is None
    assert views.list_releases("other") == []


def test_builds_and_promotions_are_listed_newest_first_with_their_steps(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("web")
    v1, p1 = ledger.deploy("web", "nginx:1")
    v2, p2 = ledger.deploy("web", "nginx:2")
    catch_up(ledger, views)

    builds = views.list_builds("web")
    assert [b.release_id for b in builds] == [v2, v1]
    build = builds[0]
    assert (build.status, build.image, build.source) == ("succeeded", "nginx:2", "image:nginx:2")
    assert build.started_at is not None and build.ended_at is not None
    assert build.created_at <= build.started_at <= build.ended_at
    assert views.get_build(build.id) == build
    assert views.list_builds("web", before_position=build.position) == [builds[1]]

    promotion = views.get_promotion(p2)
    assert promotion is not None
    assert (promotion.status, promotion.release_id, promotion.previous_release_id) == (
        "succeeded",
        v2,
        v1,
    )
    assert promotion.started_at is not None and promotion.ended_at is not None
    assert promotion.cause is None and promotion.deadline_seconds == 600
    assert [s.kind for s in promotion.steps] == ["recorded"]
    assert "v2" in promotion.steps[0].message
    assert promotion.steps[0].position > promotion.position

    listed = views.list_promotions("web")
    assert [p.id for p in listed] == [p2, p1]
    assert listed[0].steps == ()
    assert views.list_promotions("web", before_position=listed[0].position) == [listed[1]]
    assert views.get_promotion("PNOPENOPENO") is None


def test_env_history_has_the_keys_and_no_projection_table_holds_a_value(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("web")
    env = ledger.service.update_env
    env(UpdateEnv(app="web", set_values={"TOKEN": SECRET, "MODE": "a"}, description="one"), ALICE)
    ledger.deploy("web", "nginx:1")
    env(UpdateEnv(app="web", set_values={"MODE": "b", "NEW": SECRET + "2"}), ALICE)
    env(UpdateEnv(app="web", unset=("TOKEN",), description="three"), ALICE)
    catch_up(ledger, views)

    history = views.env_history("web")
    assert [(c.env_version, c.added, c.changed, c.removed) for c in history] == [
        (3, (), (), ("TOKEN",)),
        (2, ("NEW",), ("MODE",), ()),
        (1, ("MODE", "TOKEN"), (), ()),
    ]
    assert history[2].description == "one" and history[2].actor == ALICE.actor
    assert [c.env_version for c in views.env_history("web", before_version=3, limit=1)] == [2]
    releases = views.list_releases("web")
    assert releases[0].env_keys == ("MODE", "NEW") and releases[0].reason == "env"
    assert releases[-1].env_keys == ("MODE", "TOKEN")

    stored = "".join(str(n.state) for n in ledger.app.recorder.select_notifications(1, 1000))
    assert SECRET in stored  # the log has it (so the check below means something) ...
    assert SECRET not in repr(views.dump())  # ... no projection table has it
    assert SECRET not in repr(views.list_events())


def test_the_audit_timeline_lists_every_event_but_request_records_in_order_with_values_masked(
    ledger: Ledger, views: LedgerViews
) -> None:
    meta = Meta(actor="ci@build", request_id="req-1")
    ledger.create_app("web", meta)
    ledger.service.update_env(UpdateEnv(app="web", set_values={"TOKEN": SECRET}), ALICE)
    built = image_build(
        ledger.service,
        CreateBuild(app="web", image="nginx:1"),
        Meta(actor="ci@build", request_id="req-2"),
    )
    promoted = ledger.service.promote(
        PromoteRelease(app="web", release_id=built.release_id), Meta("ci", request_id="req-3")
    )
    ledger.wait_promotion(promoted.promotion_id)
    catch_up(ledger, views)

    log = ledger.app.recorder.select_notifications(1, 1000)
    assert "ledger:RequestRecorded" in {n.topic for n in log}
    expected = [(n.id, event_type(n.topic)) for n in log if n.topic != "ledger:RequestRecorded"]
    events = views.list_events()
    assert [(e.position, e.type) for e in events] == expected
    assert views.position() == log[-1].id

    first = events[0]
    assert (first.type, first.app, first.actor, first.request_id) == (
        "AppCreated",
        "web",
        "ci@build",
        "req-1",
    )
    env_changed = next(e for e in events if e.type == "EnvChanged")
    assert env_changed.data["values"] == {"TOKEN": "***"}
    assert env_changed.data["added"] == ["TOKEN"]
    created = next(e for e in events if e.type == "ReleaseCreated")
    assert created.data["env"] == {"TOKEN": "***"}
    assert not {"originator_id", "timestamp", "app", "actor"} & set(created.data)

    assert [e.type for e in views.list_events(types=["EnvChanged", "ReleaseActivated"])] == [
        "EnvChanged",
        "ReleaseActivated",
    ]
    assert views.list_events(app="other") == []
    page = views.list_events(after_position=events[2].position, limit=2)
    assert page == events[3:5]
    middle = events[len(events) // 2].time
    assert views.list_events(until=middle) + views.list_events(since=middle) == events


def test_time_travel_answers_by_log_position_and_by_time(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("web")
    v1, _ = ledger.deploy("web", "nginx:1")
    time.sleep(0.005)
    v2, _ = ledger.deploy("web", "nginx:2")
    ledger.create_app("other")
    catch_up(ledger, views)
    head = views.position()
    activations = views.list_events(types=["ReleaseActivated"])
    first, second = (e.position for e in activations)

    as_of = views.active_release_as_of
    assert as_of("web", position=first - 1) == ("", first - 1)
    assert as_of("web", position=first) == (v1, first)
    assert as_of("web", position=second - 1) == (v1, second - 1)
    assert as_of("web", position=second) == (v2, second)
    assert as_of("web", position=head + 100) == (v2, head)
    assert as_of("web") == (v2, head)

    events = views.list_events()
    before_all = events[0].time - timedelta(seconds=1)
    assert as_of("web", time=before_all) == ("", 0)
    between = activations[0].time
    newest_then = max(e.position for e in events if e.time <= between)
    assert as_of("web", time=between) == (v1, newest_then)
    assert as_of("web", time=events[-1].time + timedelta(days=1)) == (v2, events[-1].position)


def test_rack_releases_list_the_server_versions_newest_first(
    ledger: Ledger, views: LedgerViews
) -> None:
    rack = Rack(app="", actor="ledgerd", request_id="")
    rack.start_version(Meta("ledgerd"), "1.0.0", LOG_SCHEMA)
    ledger.app.save(rack)
    rack.start_version(Meta("ledgerd"), "1.1.0", LOG_SCHEMA)
    ledger.app.save(rack)
    catch_up(ledger, views)
    assert [r.version for r in views.rack_releases()] == ["1.1.0", "1.0.0"]


def test_keys_are_listed_newest_first_before_a_position_with_revoked_ones_on_request(
    ledger: Ledger, views: LedgerViews
) -> None:
    keys = KeyService(ledger.app, views)
    made = [
        keys.create_key(CreateKey(name=f"ci-{n}", role="auditor"), ALICE).outcome for n in range(4)
    ]
    keys.revoke_key(RevokeKey(key_id=made[2].key_id), ALICE)
    catch_up(ledger, views)
    newest, second, third, _ = [key.name for key in views.newest_keys(include_revoked=True)]

    assert (newest, second, third) == ("ci-3", "ci-2", "ci-1")
    assert [key.name for key in views.newest_keys(limit=2)] == ["ci-3", "ci-1"]
    older = views.newest_keys(before_position=made[1].position, include_revoked=True)
    assert [key.name for key in older] == ["ci-0"]


def test_the_views_answer_as_of_a_log_position_for_time_travel(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("web")
    ledger.service.update_env(UpdateEnv(app="web", set_values={"A": "1"}), ALICE)
    first, _ = ledger.deploy("web", "nginx:1")
    catch_up(ledger, views)
    then = views.position()
    second, _ = ledger.deploy("web", "nginx:2")
    ledger.service.update_env(UpdateEnv(app="web", set_values={"A": "2"}), ALICE)
    catch_up(ledger, views)

    releases, count = views.releases_until("web", then, limit=10)
    assert ([r.id for r in releases], count) == ([first], 1)
    assert views.env_version_at("web", then) == 1
    assert views.env_version_at("web", views.position()) > 1
    activations = views.activations_until("web", views.position(), 2)
    assert [a.release_id for a in activations] == [second, first]
    following = views.activation_after("web", then)
    assert following is not None and following.release_id == second
    assert views.activation_after("web", views.position()) is None
    assert views.activations_until("web", 0) == []
