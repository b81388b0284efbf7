from collections.abc import Iterator

import pytest

from ledger.application import LedgerApplication
from ledger.commands import CreateApp
from ledger.domain import Meta
from ledger.promoter import Promoter
from ledger.service import LedgerService
from runtime.record import RecordRuntime


@pytest.fixture
def ledger() -> Iterator[LedgerApplication]:
    app = LedgerApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app
    app.close()


@pytest.fixture
def service(ledger: LedgerApplication) -> LedgerService:
    runtime = RecordRuntime()
    return LedgerService(ledger, runtime, Promoter(ledger, runtime, max_workers=0))


@pytest.fixture
def meta() -> Meta:
    return Meta(actor="alice@laptop")


@pytest.fixture
def shop(service: LedgerService, meta: Meta) -> str:
    """The app ``shop``, created."""
    service.create_app(CreateApp("shop"), meta)
    return "shop"
