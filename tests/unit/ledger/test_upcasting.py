"""Events stored by earlier versions of the code still load: releases and builds without a
manifest and images (nor a commit), env changes without a reason."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from eventsourcing.persistence import StoredEvent

from ledger.application import LedgerApplication
from ledger.domain import App, Build, Meta, Release, ReleaseReason
from ledger.manifest import Manifest

META = Meta(actor="alice@laptop")


def store_as_version_1(ledger: LedgerApplication, events: list[Any], drop: set[str]) -> None:
    """Store ``events`` the way the previous code wrote them: without the v2 fields."""
    stored: list[StoredEvent] = []
    for event in events:
        record = ledger.mapper.to_stored_event(event)
        state = ledger.mapper.transcoder.decode(record.state)
        if state.pop("class_version", 1) == 2:
            for key in drop:
                state.pop(key, None)  # each v2 event has some of them
            record = replace(record, state=ledger.mapper.transcoder.encode(state))
        stored.append(record)
    ledger.recorder.insert_events(stored)


def test_an_old_release_created_event_loads_with_the_default_manifest_and_no_images(
    ledger: LedgerApplication,
) -> None:
    release = Release.create(
        META,
        app="shop",
        release_id="RABCDEFGHJK",
        release_version=1,
        build_id="BABCDEFGHJK",
        image="shop:1",
        env={"A": "1"},
        env_version=1,
        reason=ReleaseReason.BUILD,
        parent_id="",
        description="",
        manifest=Manifest.default("shop:1").to_dict(),
        images={"web": "sha256:1"},
    )
    store_as_version_1(ledger, release.collect_events(), drop={"manifest", "images"})

    loaded = ledger.release("shop", "RABCDEFGHJK")

    assert loaded.manifest == Manifest.default("shop:1").to_dict()
    assert loaded.parsed_manifest.service("web").image == "shop:1"
    assert loaded.images == {}
    assert (loaded.image, loaded.env) == ("shop:1", {"A": "1"})


def test_an_old_build_succeeded_event_loads_with_the_image_as_the_web_service(
    ledger: LedgerApplication,
) -> None:
    build = Build.create(
        META,
        app="shop",
        build_id="BABCDEFGHJK",
        description="",
        source="image:shop:1",
        image="shop:1",
    )
    build.start(META)
    build.succeed(META, image="shop:1", image_id="sha256:abc", release_id="RABCDEFGHJK")
    store_as_version_1(ledger, build.collect_events(), drop={"manifest", "images", "commit"})

    loaded = ledger.build("shop", "BABCDEFGHJK")

    assert loaded.status == "succeeded"
    assert loaded.commit == {}
    assert loaded.images == {"web": "sha256:abc"}
    assert loaded.manifest == Manifest.default("shop:1").to_dict()


def test_an_old_env_changed_event_loads_as_a_person_s_edit(ledger: LedgerApplication) -> None:
    app = App.create("shop", META)
    app.change_env(
        META,
        set_values={"A": "1"},
        unset=[],
        replace=False,
        expected_version=None,
        description="first",
    )
    store_as_version_1(ledger, app.collect_events(), drop={"reason"})

    (stored,) = [n for n in ledger.recorder.select_notifications(start=1, limit=10) if n.id > 1]
    event = ledger.mapper.to_domain_event(stored)

    assert isinstance(event, App.EnvChanged)
    assert (event.reason, event.env_version, event.values) == ("set", 1, {"A": "1"})
    assert ledger.app("shop").env == {"A": "1"}
