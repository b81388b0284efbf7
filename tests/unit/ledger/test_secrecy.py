"""What is secret is declared in the domain, and the one mask hides it in every event type.

A scenario drives the ledger through every event type it can record, with env values that
are all one sentinel secret. Every event is then shown as the audit record shows it
(``Mask.fields``): the sentinel must appear in none. A new event type fails the coverage
test until the scenario records it; a new field carrying env values fails the leak test,
naming the event and the field, until it is declared ``SecretValues`` where it is defined.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.application import LedgerApplication
from ledger.commands import (
    CancelPromotion,
    CreateApp,
    CreateBuild,
    CreateKey,
    PromoteRelease,
    RevokeKey,
    RollbackRelease,
    UpdateApp,
    UpdateEnv,
)
from ledger.domain import Build, Meta, NotificationTarget, Rack
from ledger.domain.base import LedgerEvent, event_type
from ledger.domain.registry import event_classes
from ledger.domain.secrecy import MASK, Mask, Secrecy, declared
from ledger.ids import BUILD, new_id
from ledger.keys import KeyService
from ledger.promoter import Promoter
from ledger.runtime import Runtime
from ledger.service import LedgerService
from runtime.record import RecordRuntime
from tests.support.builds import image_build
from tests.support.runtimes import FailingRuntime, GatedRuntime
from tests.support.workflows import record_every_workflow_event

SECRET = "sentinel-secret-value"
BAD = "shop:bad"


class NoOtherAdmins:
    def active_admin_ids(self) -> list[str]:
        return []


def service_on(ledger: LedgerApplication, runtime: Runtime, workers: int = 0) -> LedgerService:
    return LedgerService(ledger, runtime, Promoter(ledger, runtime, max_workers=workers))


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError("condition not met in time")


def record_every_event_type(ledger: LedgerApplication) -> None:
    meta = Meta("alice (K0000000001)", request_id="every-event-1")
    plain = service_on(ledger, RecordRuntime())
    rack = Rack(app="", actor="ledgerd", request_id="")
    rack.adopt_leaf_format(Meta("ledgerd"), 2)
    rack.upgrade_log(Meta("ledgerd"), 3, "deploy-ledger/v2", 2, "A" * 43 + "=")  # a later one
    ledger.save(rack)
    plain.record_rack_version("1.0.0", Meta("ledgerd"))
    plain.create_app(CreateApp("shop"), meta)
    plain.update_app(UpdateApp("shop", 300), Meta("alice"))
    plain.update_env(UpdateEnv("shop", {"DB": SECRET}), Meta("alice"))
    first = image_build(plain, CreateBuild("shop", "shop:1"), Meta("alice")).release_id
    plain.promote(PromoteRelease("shop", first), Meta("alice"))
    plain.update_env(UpdateEnv("shop", {"TOKEN": SECRET}, promote=True), Meta("alice"))
    plain.rollback(RollbackRelease("shop", first), Meta("alice"))

    failing = service_on(ledger, FailingRuntime({BAD}))
    bad = image_build(failing, CreateBuild("shop", BAD), Meta("alice")).release_id
    failing.promote(PromoteRelease("shop", bad), Meta("alice"))  # rolled back
    broken = service_on(ledger, FailingRuntime({BAD}, restore_fails=True))
    broken.promote(PromoteRelease("shop", bad), Meta("alice"))  # rollback failed

    queue_and_cancel(ledger, first)
    failed_build_with_output(ledger)
    keys = KeyService(ledger, NoOtherAdmins())
    created = keys.create_key(CreateKey("ci", "deployer", ("shop",)), Meta("alice"))
    keys.revoke_key(RevokeKey(created.outcome.key_id), Meta("alice"))
    record_every_workflow_event(ledger, "shop", SECRET)
    record_notification_target_events(ledger)


def record_notification_target_events(ledger: LedgerApplication) -> None:
    """A target whose signing secret is the sentinel: unlisted, it must show nowhere."""
    meta = Meta("alice (K0000000001)")
    target = NotificationTarget.create(
        meta,
        target_id="NAAAAAAAAAA",
        url="https://chat.example/hook",
        events=["promotion.*"],
        app="shop",
        format="slack",
        secret=SECRET,
    )
    target.delete(meta)
    ledger.save(target)


def queue_and_cancel(ledger: LedgerApplication, release_id: str) -> None:
    """A promotion cancelled while it runs, with one queued behind it that then begins."""
    runtime = GatedRuntime()
    gated = service_on(ledger, runtime, workers=2)
    try:
        running = gated.promote(PromoteRelease("shop", release_id), Meta("alice"))
        queued = gated.promote(PromoteRelease("shop", release_id, queue=True), Meta("alice"))
        gated.cancel(CancelPromotion("shop", running.promotion_id), Meta("alice"))
        runtime.gate(release_id).set()
        wait_until(lambda: ledger.promotion("shop", queued.promotion_id).status == "succeeded")
    finally:
        gated.promoter.close()


def failed_build_with_output(ledger: LedgerApplication) -> None:
    meta = Meta("alice")
    build = Build.create(
        meta, app="shop", build_id=new_id(BUILD), description="", source="tar:sha256:0", image=""
    )
    build.start(meta)
    build.append_log(meta, 1, "Step 1/2 : FROM scratch\n")
    build.fail(meta, "the Dockerfile failed")
    ledger.save(build)


@pytest.fixture(scope="module")
def events() -> Iterator[list[LedgerEvent]]:
    ledger = LedgerApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        record_every_event_type(ledger)
        notifications = ledger.recorder.select_notifications(start=1, limit=10_000)
        yield [ledger.mapper.to_domain_event(n) for n in notifications]
    finally:
        ledger.close()


def test_the_scenario_records_every_event_type_of_the_domain(events: list[LedgerEvent]) -> None:
    recorded = {type(event) for event in events}
    missing = [event_type(kind.TOPIC) for kind in event_classes() if kind not in recorded]
    assert missing == [], "record these event types in record_every_event_type"


def test_no_event_shows_an_env_value_once_masked_and_every_carrier_is_declared(
    events: list[LedgerEvent],
) -> None:
    mask = Mask(b"audit key")
    leaks = sorted(
        f"{event_type(type(event).TOPIC)}.{field}"
        for event in events
        for field, value in mask.fields(event, vars(event)).items()
        if SECRET in json.dumps(value, default=str)
    )
    assert leaks == [], "declare these fields SecretValues where the event is defined"


def test_the_secret_fields_carried_the_secret_and_show_digests(
    events: list[LedgerEvent],
) -> None:
    mask = Mask(b"audit key")
    for event in events:
        for field, secrecy in declared(type(event)).items():
            if secrecy is not Secrecy.SECRET_VALUES or not getattr(event, field):
                continue
            shown = mask.fields(event, vars(event))[field]
            assert all(value.startswith("hmac-sha256:") for value in shown.values())


def test_values_are_hidden_as_stars_unless_revealed() -> None:
    mask = Mask(b"audit key")
    assert mask.env({"B": SECRET, "A": "x"}) == {"A": MASK, "B": MASK}
    assert mask.env({"B": SECRET}, reveal=True) == {"B": SECRET}


def test_an_unlisted_field_is_left_out_of_the_audit_record(events: list[LedgerEvent]) -> None:
    created = next(e for e in events if event_type(type(e).TOPIC) == "KeyCreated")
    assert "token_hash" in vars(created)
    assert "token_hash" not in Mask().fields(created, vars(created))
