"""Idempotency by request id: what a retry is compared with, and the answer it gets.

A mutating request may carry a request id. Its :class:`~ledger.domain.RequestRecord`
(the request's fingerprint and its whole :class:`~ledger.commands.Outcome`) is saved in
the same transaction as the request's events, so a retry with the same id is answered
with the original outcome and appends nothing; the same id for a different request is
refused. :class:`~ledger.application.LedgerApplication` decides when to look (see
``execute``); this module says what is kept and what is compared.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Repository

from ledger.commands import Outcome
from ledger.domain import Meta, RequestRecord
from ledger.errors import FailedPrecondition


def fingerprint(operation: str, request: Any) -> str:
    """A digest of the operation and every field of its request: equal for a retry."""
    body = json.dumps([operation, _plain(request)], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def record(meta: Meta, outcome: Outcome, operation: str, digest: str) -> RequestRecord:
    """The record saved with the request's changes (``digest``: its :func:`fingerprint`)."""
    return RequestRecord(
        app=outcome.app,
        actor=meta.actor,
        request_id=meta.request_id,
        operation=operation,
        fingerprint=digest,
        result=outcome.to_record(),
    )


def original(repository: Repository[Any], request_id: str, digest: str) -> Outcome | None:
    """The outcome recorded for ``request_id`` (its position 0), None if none was.

    Refuses (FailedPrecondition) when the id was recorded for a request of another
    fingerprint than ``digest``: a reused id must not return someone else's answer.
    """
    if not request_id:
        return None
    try:
        found: RequestRecord = repository.get(RequestRecord.create_id(request_id=request_id))
    except AggregateNotFoundError:
        return None
    if found.fingerprint != digest:
        raise FailedPrecondition(
            f"request_id {request_id[:80]} was already used for a different request"
        )
    return Outcome.from_record(found.result)


def _plain(request: Any) -> Any:
    try:
        return asdict(request)
    except TypeError:
        return request
