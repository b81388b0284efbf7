"""``ledgerd restore``: a backup into an empty ledger, verified before anything serves.

1. The header's checkpoint must be signed by the key the operator trusts: ``--key`` (a
   public key line, or a file holding it) or else the public half of the configured
   signing key. Never a key from the backup itself: whoever can swap the file could
   sign a forged one with a key of their own.
2. The events are written at their own log positions into the staged target
   (:mod:`server.backup.targets`); each encrypted state must open with the configured
   cipher key, and the file must end with a trailer matching what was read.
3. The projections are rebuilt from the restored log (``projections rebuild``'s code,
   which builds the Merkle tree), and the tree must hold exactly the checkpoint's events
   with the checkpoint's root.

Only then is the restore kept; any refusal leaves the target as empty as it was.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eventsourcing.persistence import IntegrityError

from ledger.application import LedgerApplication
from ledger.domain.secrecy import Mask
from ledger.errors import FailedPrecondition, InvalidArgument
from projections import LedgerViews, open_views, rebuild
from server.backup.format import BackupReader, Header, Record
from server.backup.stores import EventTable, StoredRecord, leaf_hashes
from server.backup.targets import target_for
from server.infra.cipher import LedgerCipher, audit_digest_key
from server.infra.persistence import ledger_env, views_env
from server.infra.schema_check import check_event_types, check_log_schema
from server.infra.settings import Settings
from server.infra.signing import signing_key, signing_key_path
from transparency import Checkpoint, PublicKey, VerificationError, parse_and_verify
from transparency.verify import root_from_leaves

BATCH = 5000
LEAF_PAGE = 4096


@dataclass(frozen=True)
class RestoreSummary:
    """What ``ledgerd restore`` put back, and what it verified against."""

    header: Header
    checkpoint: Checkpoint
    key: PublicKey
    seconds: float


def public_key(settings: Settings, given: str | None) -> PublicKey:
    """The key to verify against: ``given`` (a key line or a file holding one), else the
    public half of the configured signing key, which must exist (it is never created)."""
    if given:
        path = Path(given)
        text = path.read_text("ascii", errors="replace").strip() if path.is_file() else given
        try:
            return PublicKey.from_text(text.strip())
        except VerificationError:
            raise InvalidArgument(
                "--key must be a public key line (name+id+key, as `ledgerd audit public-key` "
                "prints) or a file holding one"
            ) from None
    path = signing_key_path(settings)
    if not path.exists():
        raise FailedPrecondition(
            f"no key to verify the backup with: the signing key {path} does not exist; "
            "put the ledger's key there (or set LEDGER_SIGNING_KEY), or give --key"
        )
    return signing_key(settings).public_key()


def restore_backup(
    settings: Settings, path: Path, key: PublicKey, *, version: str
) -> RestoreSummary:
    """Restore the backup at ``path`` into the empty ledger of ``settings`` with this
    ``ledgerd`` (``version``), which must be able to read the backed-up log."""
    started = time.perf_counter()
    reader = BackupReader(path)
    try:
        checkpoint = _checked_checkpoint(reader.header, key, settings)
        cipher = _cipher_key(settings)
        with target_for(settings) as target:
            staged = replace(target.staged, cipher_key=cipher)
            ledger = LedgerApplication(env=ledger_env(staged))
            views: LedgerViews | None = None
            try:
                leaves = _copy_events(reader, ledger)
                # The rules ledgerd starts by: a log this version cannot read is refused.
                check_log_schema(ledger, version)
                check_event_types(ledger, 0, version)
                views = open_views(views_env(staged), mask=Mask(audit_digest_key(cipher)))
                _rebuild(ledger, views)
                _verify(views, checkpoint, leaves)
            finally:
                if views is not None:
                    views.close()
                ledger.close()
            target.commit()
    finally:
        reader.close()
    return RestoreSummary(reader.header, checkpoint, key, time.perf_counter() - started)


def _checked_checkpoint(header: Header, key: PublicKey, settings: Settings) -> Checkpoint:
    try:
        checkpoint = parse_and_verify(header.checkpoint, key)
    except VerificationError as error:
        raise FailedPrecondition(
            f"the backup's checkpoint does not verify with the key {key.to_text()} ({error})"
        ) from None
    if checkpoint.size != header.count or checkpoint.origin != header.origin:
        raise FailedPrecondition(
            f"the backup's signed checkpoint ({checkpoint.describe()}) is not of the "
            f"{header.count} events the backup claims"
        )
    if checkpoint.origin != settings.log_origin:
        raise FailedPrecondition(
            f"the backup is of log {checkpoint.origin!r} but LEDGER_LOG_ORIGIN is "
            f"{settings.log_origin!r}: restore with the log's own origin"
        )
    return checkpoint


def _cipher_key(settings: Settings) -> str:
    """The ledger's cipher key as configured; unlike ``ledgerd``, never a new one."""
    where = "LEDGER_CIPHER_KEY"
    key = settings.cipher_key
    if not key:
        path = settings.cipher_key_file or settings.data_dir / "cipher.key"
        if not path.is_file():
            raise FailedPrecondition(
                f"the restore needs the ledger's cipher key: put it in {path}, or set "
                "LEDGER_CIPHER_KEY or LEDGER_CIPHER_KEY_FILE"
            )
        if path.stat().st_mode & 0o077:
            raise InvalidArgument(f"{path} must be readable by its owner only (chmod 600)")
        where, key = str(path), path.read_text().strip()
    with contextlib.suppress(ValueError):
        if len(base64.b64decode(key, validate=True)) in (16, 24, 32):
            return key
    raise InvalidArgument(f"{where} does not hold an AES key (base64 of 16, 24 or 32 bytes)")


def _copy_events(reader: BackupReader, ledger: LedgerApplication) -> list[bytes]:
    """Write every event of the backup at its position; the leaf hashes it claims.

    A bad event is reported only once the whole file was read and found intact: a
    damaged file is told as damaged, not as the first event the damage touched.
    """
    table = EventTable(ledger.recorder)
    cipher = ledger.mapper.cipher
    leaves: list[bytes] = []
    problem = ""
    previous = 0
    for batch in reader.records(BATCH):
        for record in batch:
            if not problem and record.position <= previous:
                problem = f"the backup's position {record.position} follows {previous}"
            problem = problem or _undecryptable(cipher, record)
            previous = record.position
        if not problem:
            try:
                table.insert([_stored(record) for record in batch])
            except IntegrityError as error:
                problem = (
                    f"the backup's events at log positions {batch[0].position}-"
                    f"{batch[-1].position} collide in the event store ({error})"
                )
        leaves.extend(record.leaf for record in batch)
    if problem:
        raise FailedPrecondition(problem)
    table.continue_after_restore()
    return leaves


def _undecryptable(cipher: object, record: Record) -> str:
    """Why the configured cipher key does not open ``record``'s state, or nothing."""
    if not isinstance(cipher, LedgerCipher) or not record.state.startswith(LedgerCipher.MARK):
        return ""  # a state stored before encryption was enabled
    try:
        cipher.decrypt(record.state)
    except ValueError:
        return (
            f"the event at log position {record.position} does not decrypt with the "
            "configured cipher key (a wrong LEDGER_CIPHER_KEY, or an altered event)"
        )
    return ""


def _rebuild(ledger: LedgerApplication, views: LedgerViews) -> None:
    """``projections rebuild`` on the restored log; an event it cannot read is named."""
    try:
        rebuild(ledger, views)
    except Exception as error:
        position = _first_unreadable(ledger, views.position())
        raise FailedPrecondition(
            f"the event at log position {position} cannot be read by this ledgerd "
            f"({type(error).__name__}: {error})"
            if position
            else f"the restored log does not rebuild ({type(error).__name__}: {error})"
        ) from error


def _first_unreadable(ledger: LedgerApplication, projected: int) -> int:
    """The first event after ``projected`` that does not decode (0: none does not)."""
    while page := ledger.recorder.select_notifications(
        start=projected, limit=BATCH, inclusive_of_start=False
    ):
        for notification in page:
            try:
                ledger.mapper.to_domain_event(notification)
            except Exception:
                return notification.id
        projected = page[-1].id
    return 0


def _stored(record: Record) -> StoredRecord:
    return StoredRecord(
        position=record.position,
        originator_id=record.originator_id,
        originator_version=record.originator_version,
        topic=record.topic,
        state=record.state,
    )


def _verify(views: LedgerViews, checkpoint: Checkpoint, claimed: Sequence[bytes]) -> None:
    """The rebuilt tree must be the signed one: same size, same root."""
    size = views.tree_size()
    if size != checkpoint.size:
        raise FailedPrecondition(
            f"the restored log has {size} events but the signed checkpoint covers {checkpoint.size}"
        )
    root = views.tree(size, lambda tree: tree.root()).root()
    if root == checkpoint.root:
        return
    raise FailedPrecondition(
        "the backup's events do not match its signed checkpoint"
        + _first_bad(views, checkpoint, claimed)
    )


def _first_bad(views: LedgerViews, checkpoint: Checkpoint, claimed: Sequence[bytes]) -> str:
    """Where the restored events first differ from the signed ones, if the backup's leaf
    hashes are the signed tree's (they hash to the signed root): else nothing can say."""
    if root_from_leaves(claimed) != checkpoint.root:
        return ""
    positions = views.leaf_positions()
    for start in range(0, len(claimed), LEAF_PAGE):
        rebuilt = leaf_hashes(views, start, min(LEAF_PAGE, len(claimed) - start))
        for leaf, hash_ in enumerate(rebuilt, start):
            if hash_ != claimed[leaf]:
                return f" (the first bad one is at log position {positions.position(leaf)})"
    return ""
