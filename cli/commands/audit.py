"""``ledgerctl audit``: checkpoints, exports and verification of the tamper-evident log.

The server keeps every event as a leaf of a Merkle tree and signs checkpoints of it; this
client needs only the log's public key (``ledgerd audit public-key``) to check, offline or
live, that the history it is shown is the one the server committed to and that it was
only ever appended to. Nothing here trusts the server: checks are :mod:`transparency`'s.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from cli import render
from cli.audit_files import (
    SavedCheckpoints,
    note_size,
    public_key,
    require_public_key,
    state_dir,
)
from cli.audit_link import bundle_event, check_linked
from cli.audit_render import record_lines
from cli.context import Session
from cli.errors import EXIT_REFUSED, CliError
from cli.options import json_option, pass_session
from ledger_api.v1 import ledger_pb2 as pb
from transparency import (
    BundleEvent,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    PublicKey,
    Report,
    VerificationError,
    check_consistency,
    parse_and_verify,
    verify_bundle,
    write_bundle,
)
from transparency.checkpoint import format_timestamp

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
Exit codes: 0 verified (or done), 1 verification failed (each problem on stderr, the first
bad position first) or the server refused, 2 usage error, 4 server unreachable.
"""


class VerificationFailed(CliError):
    """The evidence did not hold up: a signature, a proof or an event failed to verify."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_REFUSED)


def key_option(function: F) -> F:
    return click.option(
        "--key",
        metavar="KEY",
        help="The log's public key, or a file holding it (default: $LEDGER_PUBLIC_KEY).",
    )(function)


def state_option(function: F) -> F:
    return click.option(
        "--state-dir",
        "state_dir_",
        metavar="DIR",
        help="Where checkpoints are saved per server (default: $LEDGER_STATE_DIR, else "
        "$XDG_STATE_HOME/ledgerctl or ~/.local/state/ledgerctl).",
    )(function)


@click.group("audit", epilog=EPILOG)
def audit() -> None:
    """Check that the log is the one the server signed, and only ever grew."""


@audit.command("checkpoint", epilog=EPILOG)
@key_option
@state_option
@json_option
@pass_session
def checkpoint(session: Session, key: str | None, state_dir_: str | None) -> None:
    """Print the server's current signed checkpoint, and save it.

    With the public key, it is saved once its signature verifies and it extends the
    checkpoint saved before for this server; without, only if none was saved yet.
    """
    saved = SavedCheckpoints(state_dir(state_dir_, session.environ))
    signed = session.client.get_checkpoint()
    verifier = public_key(key, session.environ)
    if verifier is not None:
        _check_live(session, verifier, saved, signed)
        saved.save(session.host, signed.text)
    elif saved.load(session.host) is None:
        saved.save(session.host, signed.text)
        session.err("saved without verifying it: no --key given")
    else:
        session.err("not saved: give --key to check it against the checkpoint saved before")
    session.emit(_checkpoint_json(signed), lambda: signed.text.rstrip("\n"))


@audit.command("export", epilog=EPILOG)
@click.option("--out", "out", required=True, metavar="DIR", help="A new or empty directory.")
@key_option
@state_option
@pass_session
def export(session: Session, out: str, key: str | None, state_dir_: str | None) -> None:
    """Write an audit bundle of the whole log to a directory.

    The bundle holds every event as stored, the current checkpoint, an inclusion proof
    per event and, when a checkpoint was saved for this server before, that checkpoint
    and a proof that the log extends it. Verify it anywhere with
    `ledgerctl audit verify DIR --key KEY`.
    """
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise click.UsageError(f"--out {out} must be a new or empty directory")
    signed = session.client.get_checkpoint()
    verifier = public_key(key, session.environ)
    if verifier is not None:
        size = _verified(signed.text, verifier, "the server's checkpoint").size
    else:  # what the signed text says, whatever the message's other fields say
        size = note_size(signed.text) or 0
    checkpoints, consistency, linked = [signed.text], [], []
    previous = SavedCheckpoints(state_dir(state_dir_, session.environ)).load(session.host)
    old_size = note_size(previous) if previous is not None else None
    if previous is not None and previous.split("\n", 1)[0] != signed.text.split("\n", 1)[0]:
        linked.append(previous)  # of the log before an upgrade: checked against the link
    elif previous is not None and old_size is not None and previous != signed.text:
        checkpoints.insert(0, previous)
        if old_size <= size:
            proof = session.client.get_consistency_proof(old_size, size)
            consistency.append(ConsistencyProof(old_size, size, tuple(proof.hashes)))
        else:
            session.err(
                f"warning: the checkpoint saved before has size {old_size}, more than the "
                f"server's {size}: the log shrank"
            )
    events: list[BundleEvent] = []
    proofs: list[InclusionProof] = []
    exported = session.client.export_events(size, with_proofs=True) if size else iter(())
    for event in exported:
        events.append(bundle_event(event))
        proofs.append(InclusionProof(event.position - 1, size, tuple(event.inclusion_proof)))
    write_bundle(target, events, checkpoints, proofs, consistency, linked)
    root = base64.b64encode(signed.root_hash).decode("ascii")
    session.out(
        f"wrote {len(events)} events of the log {signed.origin} at size {size} "
        f"(root {root}) to {target}"
    )
    if verifier is None:
        session.err("not verified (no --key): run `ledgerctl audit verify` on it")
        return
    report = verify_bundle(target, verifier)
    if not report.ok:
        _failed(session, report)
    session.out("\n".join([report.summary(), *record_lines(report.records)]))


@audit.command("verify", epilog=EPILOG)
@click.argument("bundle", required=False, metavar="[DIR]")
@click.option("--server", "live", is_flag=True, help="Check the server's log now, live.")
@key_option
@state_option
@json_option
@pass_session
def verify(
    session: Session, bundle: str | None, live: bool, key: str | None, state_dir_: str | None
) -> None:
    """Verify a bundle (DIR) offline, or the server's log (--server).

    Offline: every checkpoint's signature, each an extension of the previous one, every
    event's inclusion in the newest, no position missing or repeated. Live: the server's
    checkpoint is signed by KEY and extends the one saved for this server last time (or
    by `audit checkpoint`); it is then saved. Exit 1 when anything fails to verify.
    """
    if (bundle is None) == (not live):
        raise click.UsageError("give a bundle DIR or --server (one of them)")
    verifier = require_public_key(key, session.environ)
    if bundle is not None:
        _verify_bundle(session, Path(bundle), verifier)
        return
    saved = SavedCheckpoints(state_dir(state_dir_, session.environ))
    signed = session.client.get_checkpoint()
    new, old = _check_live(session, verifier, saved, signed)
    saved.save(session.host, signed.text)
    since = (
        f"no checkpoint was saved for {session.host} before: this one is now"
        if old is None
        else f"an extension of the checkpoint of size {old.size} saved on "
        f"{format_timestamp(old.timestamp)}"
        if old.origin == new.origin
        else f"it continues the log {old.origin}, of which the checkpoint of size {old.size} "
        f"saved on {format_timestamp(old.timestamp)} is a prefix"
    )
    root = base64.b64encode(new.root).decode("ascii")
    session.emit(
        {"ok": True, **_checkpoint_json(signed), "previous_size": old.size if old else None},
        lambda: (
            f"OK: log {new.origin} at size {new.size}, root {root}, signed at "
            f"{format_timestamp(new.timestamp)}; {since}"
        ),
    )


def _verify_bundle(session: Session, directory: Path, verifier: PublicKey) -> None:
    if not directory.is_dir():
        raise click.UsageError(f"{directory} is not a directory")
    report = verify_bundle(directory, verifier)
    if report.ok:
        session.emit(
            {
                "ok": True,
                "size": report.checkpoint.size if report.checkpoint else 0,
                "events": [dict(record) for record in report.records],
            },
            lambda: "\n".join([report.summary(), *record_lines(report.records)]),
        )
        return
    _failed(session, report)


def _failed(session: Session, report: Report) -> NoReturn:
    problems = [{"message": p.message, "position": p.position} for p in report.problems]
    if session.json:
        session.out(render.dumps({"ok": False, "problems": problems}))
    for problem in report.problems:
        session.err(problem.message)
    first = report.first_bad_position
    where = f", the first at position {first}" if first is not None else ""
    raise VerificationFailed(
        f"the bundle does not verify: {len(report.problems)} problem(s){where}"
    )


def _check_live(
    session: Session, verifier: PublicKey, saved: SavedCheckpoints, signed: pb.SignedCheckpoint
) -> tuple[Checkpoint, Checkpoint | None]:
    """The server's checkpoint, verified, and the saved one it was proven to extend."""
    new = _verified(signed.text, verifier, "the server's checkpoint")
    previous = saved.load(session.host)
    if previous is None:
        return new, None
    old = _verified(previous, verifier, f"the checkpoint saved in {saved.path(session.host)}")
    if old.origin != new.origin:  # saved before the log was upgraded (transparency.link)
        try:
            link = check_linked(session.client, old, new)
        except VerificationError as error:
            session.err(
                f"saved checkpoint:    {old.describe()} (kept in {saved.path(session.host)})"
            )
            session.err(f"server's checkpoint: {new.describe()}")
            raise VerificationFailed(f"{error}") from None
        session.err(
            f"the log was upgraded at position {link.position}: it continues the {link.describe()}"
        )
        return new, old
    proof: list[bytes] = []
    if old.size < new.size:
        proof = list(session.client.get_consistency_proof(old.size, new.size).hashes)
    try:
        check_consistency(old, new, proof)
    except VerificationError as error:
        session.err(f"saved checkpoint:    {old.describe()} (kept in {saved.path(session.host)})")
        session.err(f"server's checkpoint: {new.describe()}")
        raise VerificationFailed(f"{error}") from None
    return new, old


def _verified(text: str, verifier: PublicKey, what: str) -> Checkpoint:
    try:
        return parse_and_verify(text, verifier)
    except VerificationError as error:
        raise VerificationFailed(f"{what} does not verify: {error}") from None


def _checkpoint_json(signed: pb.SignedCheckpoint) -> dict[str, Any]:
    return {
        "origin": signed.origin,
        "size": signed.size,
        "root": base64.b64encode(signed.root_hash).decode("ascii"),
        "time": render.timestamp(signed, "time"),
        "text": signed.text,
    }
