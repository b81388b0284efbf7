"""Tamper evidence: GetCheckpoint, GetInclusionProof, GetConsistencyProof, ExportEvents.

Thin: the work is :class:`server.infra.audit_log.AuditLog`'s, run off the event loop. Bad
positions and sizes come back as INVALID_ARGUMENT from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from ledger.errors import InvalidArgument
from ledger_api.v1 import ledger_pb2 as pb
from server.grpc import convert
from server.grpc.errors import rpc
from server.grpc.paging import encode_token, int_cursor, page_request
from server.grpc.servicers.base import ServicerBase
from server.infra.audit_log import AuditLog, ExportedRecord, SignedCheckpoint


class AuditServicer(ServicerBase):
    """Signed checkpoints of the log's Merkle tree, proofs, and the stored records."""

    @property
    def audit_log(self) -> AuditLog:
        return self.backend.container.audit_log

    @rpc
    async def GetCheckpoint(
        self, request: pb.GetCheckpointRequest, context: Any
    ) -> pb.SignedCheckpoint:
        return checkpoint_message(await self.backend.run(self.audit_log.checkpoint))

    @rpc
    async def GetInclusionProof(
        self, request: pb.GetInclusionProofRequest, context: Any
    ) -> pb.GetInclusionProofResponse:
        # Verifiers ask many proofs of one tree size: most are answered from memory,
        # without a hop to a reader thread.
        cached = self.audit_log.cached_inclusion_proof(request.position, request.tree_size)
        if cached is not None:
            size, hashes, signed = request.tree_size, cached, None
        else:
            size, hashes, signed = await self.backend.run(
                self.audit_log.inclusion_proof, request.position, request.tree_size
            )
        response = pb.GetInclusionProofResponse(
            leaf_index=request.position - 1, tree_size=size, hashes=hashes
        )
        if signed is not None:
            response.checkpoint.CopyFrom(checkpoint_message(signed))
        return response

    @rpc
    async def GetConsistencyProof(
        self, request: pb.GetConsistencyProofRequest, context: Any
    ) -> pb.GetConsistencyProofResponse:
        size, hashes, signed = await self.backend.run(
            self.audit_log.consistency_proof, request.old_size, request.new_size
        )
        response = pb.GetConsistencyProofResponse(
            old_size=request.old_size, new_size=size, hashes=hashes
        )
        if signed is not None:
            response.checkpoint.CopyFrom(checkpoint_message(signed))
        return response

    @rpc
    async def ExportEvents(
        self, request: pb.ExportEventsRequest, context: Any
    ) -> pb.ExportEventsResponse:
        if request.from_position < 0:
            raise InvalidArgument("from_position must not be negative")
        scope = ["ExportEvents", request.from_position, request.tree_size, request.with_proofs]
        paging = page_request(request.page_size, request.page_token, scope)
        after = int_cursor(paging)
        size = await self.backend.run(self.audit_log.resolve_size, request.tree_size)
        records, more = await self.backend.run(
            self.audit_log.export,
            max(request.from_position, 1),
            size,
            paging.size,
            after=after,
            with_proofs=request.with_proofs,
        )
        token = encode_token(records[-1].log_position, paging.scope) if more and records else ""
        return pb.ExportEventsResponse(
            events=[exported_event(record) for record in records],
            next_page_token=token,
            tree_size=size,
        )


def checkpoint_message(signed: SignedCheckpoint) -> pb.SignedCheckpoint:
    checkpoint = signed.checkpoint
    message = pb.SignedCheckpoint(
        text=signed.text, origin=checkpoint.origin, size=checkpoint.size, root_hash=checkpoint.root
    )
    _set_time(message.time, checkpoint.timestamp)
    return message


def exported_event(record: ExportedRecord) -> pb.ExportedEvent:
    message = pb.ExportedEvent(
        position=record.position,
        log_position=record.log_position,
        originator_id=record.originator_id,
        originator_version=record.originator_version,
        topic=record.topic,
        state=record.state,
        type=record.type,
        inclusion_proof=record.proof,
        record=record.record_text,
    )
    if record.record is not None:
        message.app = record.record["app"]
        message.actor = record.record["actor"]
        message.time.FromJsonString(record.record["time"])
    return message


def _set_time(field: Timestamp, moment: datetime) -> None:
    stamp = convert.timestamp(moment)
    if stamp is not None:
        field.CopyFrom(stamp)
