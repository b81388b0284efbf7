"""Recording builds of existing images straight through the application layer."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ledger.building import Builder, BuildService
from ledger.commands import CreateBuild, Outcome
from ledger.domain import Meta
from ledger.service import LedgerService


def image_build(service: LedgerService, command: CreateBuild, meta: Meta) -> Outcome:
    """Record a build of ``command.image`` (and its release) on the service's ledger."""
    sources = Path(tempfile.gettempdir()) / "ledger-test-sources"
    builder = Builder(service.ledger, service.runtime, sources, max_workers=0)
    return BuildService(service.ledger, builder).create_from_image(command, meta)
