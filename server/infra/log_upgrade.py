"""At start, before serving: which tree leaf format the log is signed with, recorded once.

The projections' Merkle tree uses leaf format 2 (:mod:`transparency.leaf_v2`), signed
under the origin ``<LEDGER_LOG_ORIGIN>/v2``. What the log says about it:

- a **new ledger** (its log empty when this runs) records ``LeafFormatAdopted`` (format
  2) on the ``Rack`` aggregate: it was never signed otherwise;
- a log that holds events but no such record (no ``LeafFormatAdopted``, no
  ``LogUpgraded``) was written by a version that signed format 1 leaves under
  ``<LEDGER_LOG_ORIGIN>``: this appends the link ``LogUpgraded`` with that origin, the
  number N of events stored before it and the format 1 root over them, computed here
  from the stored records (leaf i is the (i + 1)-th stored event, so positions that
  PostgreSQL skipped take no leaf, as in :mod:`projections.merkle`). The link is itself a
  leaf of the new tree (:mod:`transparency.link` says how auditors check it);
- otherwise nothing.

It runs while ``ledgerd`` holds the lock that guards table creation (the data dir on
SQLite, an advisory lock on PostgreSQL), so two processes starting together record it
once; a race is also caught by the aggregate's version, and then this finds it done.
"""

from __future__ import annotations

import base64
import logging
from typing import Final

from eventsourcing.persistence import ApplicationRecorder

from ledger.application import Decision, LedgerApplication
from ledger.commands import Outcome
from ledger.domain import Meta, Rack
from transparency.hashing import event_leaf_hash
from transparency.leaf_v2 import LEAF_FORMAT
from transparency.link import RootBuilder

log = logging.getLogger(__name__)
SYSTEM: Final = Meta(actor="ledgerd")
PAGE: Final = 2_000


def record_leaf_format(ledger: LedgerApplication, origin: str) -> None:
    """Record the log's leaf format, linking a format 1 log (see the module doc).
    ``origin`` is ``LEDGER_LOG_ORIGIN``, the format 1 log's checkpoint origin."""

    def handle() -> Decision:
        rack = ledger.rack()
        if rack is not None and rack.signed_leaf_format >= LEAF_FORMAT:
            return Decision(Outcome(app=""))
        head = ledger.recorder.max_notification_id() or 0
        rack = rack or Rack(app="", actor=SYSTEM.actor, request_id=SYSTEM.request_id)
        if head == 0:
            rack.adopt_leaf_format(SYSTEM, LEAF_FORMAT)
        else:
            size, root = format_1_tree(ledger.recorder, head)
            encoded = base64.b64encode(root).decode("ascii")
            rack.upgrade_log(SYSTEM, LEAF_FORMAT, origin, size, encoded)
            log.warning(
                "the log was signed with leaf format 1 as %s: linked its %d events (root %s) "
                "to the log signed with format %d as %s/v2",
                origin,
                size,
                encoded,
                LEAF_FORMAT,
                origin,
            )
        return Decision(Outcome(app=""), (rack,))

    ledger.execute("RecordLeafFormat", origin, SYSTEM, handle)


def format_1_tree(recorder: ApplicationRecorder, head: int) -> tuple[int, bytes]:
    """(size, root) of the format 1 tree over the stored events up to log position
    ``head``, read a page at a time."""
    builder = RootBuilder()
    start = 1
    while start <= head:
        page = recorder.select_notifications(start=start, limit=PAGE, stop=head)
        if not page:
            break
        for stored in page:
            builder.append(
                event_leaf_hash(
                    builder.size + 1,
                    str(stored.originator_id),
                    stored.originator_version,
                    stored.topic,
                    bytes(stored.state),
                )
            )
        start = page[-1].id + 1
    return builder.size, builder.root()
