"""The rebuild's event decoder gives the application mapper's events, or its errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import MapperDeserialisationError, Notification

from ledger.application import LedgerApplication
from ledger.commands import CreateApp, CreateBuild, PromoteRelease, UpdateEnv
from ledger.domain import Meta
from ledger.promoter import Promoter
from ledger.service import LedgerService
from projections.decoding import EventDecoder
from runtime.record import RecordRuntime
from tests.support.builds import image_build
from tests.support.workflows import record_every_workflow_event

ALICE = Meta(actor="alice", request_id="")
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
ENCRYPTED = POPO | {
    "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
    "CIPHER_KEY": AESCipher.create_key(32),
}


def history(env: dict[str, str]) -> Iterator[LedgerApplication]:
    ledger = LedgerApplication(env=env)
    runtime = RecordRuntime()
    promoter = Promoter(ledger, runtime, max_workers=0)
    service = LedgerService(ledger, runtime, promoter)
    service.create_app(CreateApp(name="shop"), Meta(actor="alice", request_id="r-1"))
    service.update_env(UpdateEnv(app="shop", set_values={"TOKEN": "s3cr3t-value"}), ALICE)
    image_build(service, CreateBuild(app="shop", image="shop:1"), ALICE)
    service.promote(PromoteRelease(app="shop"), ALICE)
    record_every_workflow_event(ledger, "shop", "s3cr3t-of-the-workflow")
    yield ledger
    promoter.close()
    ledger.close()


@pytest.fixture(params=[ENCRYPTED, POPO], ids=["encrypted", "plain"])
def ledger(request: pytest.FixtureRequest) -> Iterator[LedgerApplication]:
    yield from history(request.param)


@pytest.fixture
def plain_ledger() -> Iterator[LedgerApplication]:
    yield from history(POPO)


def stored(ledger: LedgerApplication) -> list[Notification]:
    return list(ledger.recorder.select_notifications(1, 10_000))


def test_every_event_decodes_to_what_the_applications_mapper_makes(
    ledger: LedgerApplication,
) -> None:
    decode = EventDecoder(ledger.mapper)
    records = stored(ledger)
    assert len({record.topic for record in records}) > 20

    for record in records:
        expected = ledger.mapper.to_domain_event(record)
        event = decode(record)
        assert type(event) is type(expected)
        assert vars(event) == vars(expected)


def test_a_damaged_state_fails_with_the_mappers_own_error(ledger: LedgerApplication) -> None:
    record = stored(ledger)[0]
    damaged = replace(record, state=record.state[:-3] + b"!!!")

    with pytest.raises(MapperDeserialisationError):
        EventDecoder(ledger.mapper)(damaged)


def test_a_state_with_text_after_its_json_is_decoded_as_the_mapper_decodes_it(
    plain_ledger: LedgerApplication,
) -> None:
    ledger = plain_ledger
    record = stored(ledger)[0]
    padded = replace(record, state=record.state + b"  \n")

    event = EventDecoder(ledger.mapper)(padded)

    assert vars(event) == vars(ledger.mapper.to_domain_event(padded))
