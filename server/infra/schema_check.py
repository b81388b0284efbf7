"""Refuse to serve a log written by a newer ``ledgerd`` than this one can read.

Every ``ledgerd`` records, when it starts, its version and the log schema it writes
(``Rack.VersionStarted``, see :mod:`ledger.schema`). Before anything is written (the rack
version, an admin key, a projection), :func:`check_log_schema` reads those records and
refuses when one says a higher schema than this version's: an older ``ledgerd`` must not
append to, nor project, a log whose events it cannot decode.

The records are read as plain JSON (decrypted, never turned into event objects), so this
check reads the forms of the event that later versions write: they keep ``version`` and
``log_schema`` as they are (:data:`ledger.schema.RACK_VERSION_FIELDS`) whatever they add.

:func:`check_event_types` is the second guard, for a log that holds an event type this
version does not know without saying so (a newer version that broke the rules): it looks
at the types of the events the projections are about to read, before they start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application

from ledger.domain import Rack
from ledger.domain.base import event_type
from ledger.domain.registry import event_classes
from ledger.errors import FailedPrecondition
from ledger.schema import LOG_SCHEMA

VERSION_STARTED = Rack.VersionStarted.TOPIC
PAGE = 5000  # notifications read at once when looking at event types


@dataclass(frozen=True)
class Writer:
    """A version that started on this log, and the log schema it wrote."""

    version: str
    log_schema: int


def newest_writer(application: Application[Any]) -> Writer | None:
    """The version that recorded the highest log schema (the latest of them on a tie), or
    None on a log that records none."""
    newest: Writer | None = None
    for stored in application.recorder.select_events(Rack.create_id()):
        if stored.topic != VERSION_STARTED:
            continue
        writer = _writer(application, stored.state)
        if newest is None or writer.log_schema >= newest.log_schema:
            newest = writer
    return newest


def check_log_schema(application: Application[Any], version: str) -> None:
    """Raise a one-line FAILED_PRECONDITION naming both versions when the log records a
    higher log schema than :data:`~ledger.schema.LOG_SCHEMA`; reads only."""
    writer = newest_writer(application)
    if writer is not None and writer.log_schema > LOG_SCHEMA:
        raise FailedPrecondition(
            f"this log was written by ledgerd {writer.version} (log schema "
            f"{writer.log_schema}); ledgerd {version} reads log schema {LOG_SCHEMA} or "
            "older: upgrade ledgerd"
        )


def _writer(application: Application[Any], state: bytes) -> Writer:
    mapper = application.mapper
    if mapper.cipher is not None:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor is not None:
        state = mapper.compressor.decompress(state)
    data = json.loads(state)
    schema = data.get("log_schema", 0)  # absent before log schemas were counted
    return Writer(str(data.get("version", "")), schema if isinstance(schema, int) else 0)


def check_event_types(application: Application[Any], after: int, version: str) -> None:
    """Raise a one-line FAILED_PRECONDITION when an event after position ``after`` is of a
    type this version does not know; reads only (the topics of those events, not decoded).
    """
    known = {kind.TOPIC for kind in event_classes()}
    recorder = application.recorder
    while page := recorder.select_notifications(after, PAGE, inclusive_of_start=False):
        unknown = [n for n in page if n.topic not in known]
        if unknown:
            names = sorted({event_type(n.topic) for n in unknown})
            raise FailedPrecondition(
                f"this log holds events of a type ledgerd {version} does not know "
                f"({', '.join(names)[:200]}, from position {unknown[0].id}): a newer "
                "ledgerd wrote them: upgrade ledgerd"
            )
        after = page[-1].id
