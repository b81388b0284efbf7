"""The exported events as ``ledgerctl audit`` reads them, and the live check that a log
upgraded to leaf format 2 still holds what an auditor's saved format 1 checkpoint saw.

A saved checkpoint of another origin than the server's is checked against the link event
(``LogUpgraded``, :mod:`transparency.link`): the events are exported from the first one
up to the link, their format 1 root of the saved size must be the saved root, their
format 1 root of the link's size the root the link signs, and the link must be included
in the server's (verified) checkpoint. This reads the log's first events once, at the
first check after the upgrade; the saved checkpoint is then replaced by the new log's.
"""

from __future__ import annotations

import json
from typing import Any

from cli import render
from cli.client import LedgerClient
from cli.errors import CliError
from ledger_api.v1 import ledger_pb2 as pb
from transparency import BundleEvent, Checkpoint, VerificationError, verify_inclusion
from transparency.link import Link, RootBuilder, link_problem, linked_checkpoint_problem


def bundle_event(event: pb.ExportedEvent) -> BundleEvent:
    """An exported event as a bundle holds it: with its signed record (leaf format 2), or,
    from a server of format 1 leaves, with the server's unsigned readable fields."""
    if event.record:  # leaf format 2: the signed record is all there is to read
        try:
            record = json.loads(event.record)
        except ValueError:
            raise CliError(f"the server sent a malformed record at {event.position}") from None
        return BundleEvent(
            event.position,
            event.originator_id,
            event.originator_version,
            event.topic,
            event.state,
            record=record,
        )
    extra: dict[str, Any] = {"log_position": event.log_position, "type": event.type}
    if event.app:
        extra["app"] = event.app
    if event.actor:
        extra["actor"] = event.actor
    time = render.timestamp(event, "time")
    if time is not None:
        extra["time"] = time
    return BundleEvent(
        event.position,
        event.originator_id,
        event.originator_version,
        event.topic,
        event.state,
        extra,
    )


def check_linked(client: LedgerClient, saved: Checkpoint, new: Checkpoint) -> Link:
    """The link by which the server's log ``new`` (signature verified) continues the log
    of ``saved``; raise :class:`VerificationError` unless ``saved`` is a prefix of it."""
    builder = RootBuilder()
    saved_root = builder.root() if saved.size == 0 else None
    for exported in client.export_events(new.size, with_proofs=True):
        event = bundle_event(exported)
        try:
            link = Link.of(event.record)
        except ValueError as error:
            raise VerificationError(f"event at position {event.position}: {error}") from None
        if link is not None:
            proof = tuple(exported.inclusion_proof)
            if not verify_inclusion(
                event.leaf_hash(), event.position - 1, new.size, proof, new.root
            ):
                raise VerificationError(
                    f"the link at position {link.position} is not in the server's signed log"
                )
            problem = link_problem(
                link, builder.root() if builder.size == link.previous_size else None
            )
            problem = problem or linked_checkpoint_problem(link, saved, saved_root)
            if problem is not None:
                raise VerificationError(problem)
            return link
        builder.append(event.leaf_hash_v1())
        if builder.size == saved.size:
            saved_root = builder.root()
    raise VerificationError(
        f"the server's checkpoint is for log {new.origin!r}, not {saved.origin!r}, and "
        "nothing in it links the two"
    )
