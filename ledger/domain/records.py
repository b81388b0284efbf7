"""Bookkeeping aggregates: idempotent request records and the rack's own versions."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate, event

from ledger.domain.base import LedgerEvent, Meta
from ledger.errors import FailedPrecondition
from ledger.ids import aggregate_id


class RequestRecord(Aggregate):
    """The result of a mutating request, keyed by its request id.

    Saved in the same transaction as the request's own events, so a retry with the
    same id finds it and returns the original result while appending nothing.
    """

    TOPIC = "ledger:RequestRecord"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:RequestRecorded"
        operation: str
        fingerprint: str
        result: dict[str, Any]

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        operation: str,
        fingerprint: str,
        result: dict[str, Any],
    ) -> None:
        self.operation = operation
        self.fingerprint = fingerprint
        self.result = result

    @staticmethod
    def create_id(request_id: str, **_: Any) -> Any:
        return aggregate_id("request", request_id)


class Rack(Aggregate):
    """The ledger service itself: records each server version it starts with, and the log
    schema that version writes (``ledger.schema``), whenever either changes."""

    TOPIC = "ledger:Rack"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:RackCreated"

    class VersionStarted(LedgerEvent):
        """``version`` and ``log_schema`` keep their names, types and meaning in every
        later class version (``ledger.schema.RACK_VERSION_FIELDS``): an older ``ledgerd``
        reads them to tell whether it can read the log at all."""

        TOPIC = "ledger:RackVersionStarted"
        class_version = 2
        version: str
        log_schema: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["log_schema"] = 0  # written before log schemas were counted

        def apply(self, aggregate: Any) -> None:
            aggregate.server_version = self.version
            aggregate.log_schema = self.log_schema

    class LeafFormatAdopted(LedgerEvent):
        """A new ledger's log is signed with tree leaves of ``leaf_format`` from its start
        (so a later start does not take it for a log written with older leaves)."""

        TOPIC = "ledger:LeafFormatAdopted"
        leaf_format: int

        def apply(self, aggregate: Any) -> None:
            aggregate.leaf_format = self.leaf_format

    class LogUpgraded(LedgerEvent):
        """The log's tree leaves changed to ``leaf_format``: the log of the first
        ``previous_size`` events, signed as ``previous_origin`` with the older leaves, had
        root ``previous_root`` (base64). Itself a leaf of the new tree, this link is
        signed by every new checkpoint (see transparency/link.py)."""

        TOPIC = "ledger:LogUpgraded"
        leaf_format: int
        previous_origin: str
        previous_size: int
        previous_root: str

        def apply(self, aggregate: Any) -> None:
            aggregate.leaf_format = self.leaf_format

    @event(Created)
    def __init__(self, app: str, actor: str, request_id: str) -> None:
        self.server_version = ""
        self.log_schema = 0

    @staticmethod
    def create_id(**_: Any) -> Any:
        return aggregate_id("rack", "rack")

    def start_version(self, meta: Meta, version: str, log_schema: int) -> bool:
        """Record ``version`` (writing ``log_schema``) as started, unless it is the one
        that ran last; True if it was recorded."""
        if (version, log_schema) == (self.server_version, self.log_schema):
            return False
        self.trigger_event(
            self.VersionStarted,
            app="",
            actor=meta.actor,
            request_id=meta.request_id,
            version=version,
            log_schema=log_schema,
        )
        return True

    @property
    def signed_leaf_format(self) -> int:
        """The leaf format the log is signed with: 1 unless an event said otherwise."""
        return int(getattr(self, "leaf_format", 1))

    def adopt_leaf_format(self, meta: Meta, leaf_format: int) -> None:
        """Record that this (new, empty until now) ledger's log starts with ``leaf_format``."""
        if self.signed_leaf_format != 1:
            raise FailedPrecondition(
                f"the log is signed with leaf format {self.signed_leaf_format}"
            )
        self.trigger_event(
            self.LeafFormatAdopted,
            app="",
            actor=meta.actor,
            request_id=meta.request_id,
            leaf_format=leaf_format,
        )

    def upgrade_log(
        self, meta: Meta, leaf_format: int, previous_origin: str, size: int, root: str
    ) -> None:
        """Link the log of the first ``size`` events (older leaves, ``previous_origin``,
        ``root``) to the log of ``leaf_format`` leaves that this event starts."""
        if leaf_format <= self.signed_leaf_format:
            raise FailedPrecondition(
                f"the log is signed with leaf format {self.signed_leaf_format}"
            )
        self.trigger_event(
            self.LogUpgraded,
            app="",
            actor=meta.actor,
            request_id=meta.request_id,
            leaf_format=leaf_format,
            previous_origin=previous_origin,
            previous_size=size,
            previous_root=root,
        )


class DeliveryRecord(Aggregate):
    """A webhook delivery a workflow accepted, keyed by (workflow, provider, delivery id).

    Saved with what the delivery started, so a delivery seen before (hosts retry, and no
    timestamp is signed: a replay verifies) is found and starts nothing again.
    """

    TOPIC = "ledger:DeliveryRecord"

    class Created(LedgerEvent, Aggregate.Created):
        TOPIC = "ledger:DeliveryAccepted"
        workflow: str
        provider: str
        delivery_id: str
        hook_event: str
        kind: str
        ref: str
        sha: str
        pusher: str
        job_id: str
        outcome: str  # what it started, or why it started nothing

    @event(Created)
    def __init__(
        self,
        app: str,
        actor: str,
        request_id: str,
        workflow: str,
        provider: str,
        delivery_id: str,
        hook_event: str,
        kind: str,
        ref: str,
        sha: str,
        pusher: str,
        job_id: str,
        outcome: str,
    ) -> None:
        self.workflow = workflow
        self.job_id = job_id
        self.outcome = outcome

    @staticmethod
    def create_id(workflow: str, provider: str, delivery_id: str, **_: Any) -> Any:
        return aggregate_id("delivery", f"{workflow}:{provider}:{delivery_id}")
