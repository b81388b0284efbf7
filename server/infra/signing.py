"""The key that signs the log's checkpoints: Ed25519, in a file kept beside the data.

The file is ``LEDGER_SIGNING_KEY`` or, by default, ``$LEDGER_DATA/signing.key``, created
on first start with owner-only permissions. It holds one line, the private key in the text
form of Go's signed-note package (``PRIVATE+KEY+<name>+<key id>+<key>``, see
:mod:`transparency.keys`); the key's name is the log's origin when it was made.

Auditors verify checkpoints with the one public key they were given, so every ``ledgerd``
serving one ledger (several on PostgreSQL) must sign with the same key: point them all at
one file with ``LEDGER_SIGNING_KEY``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from ledger.errors import InvalidArgument
from server.infra.settings import Settings
from transparency import PrivateKey, VerificationError, generate_key

log = logging.getLogger("ledgerd")


def signing_key_path(settings: Settings) -> Path:
    return settings.signing_key_file or settings.data_dir / "signing.key"


def signing_key(settings: Settings) -> PrivateKey:
    """The checkpoint signing key from its file, which is created if absent.

    INVALID_ARGUMENT (a settings error) when the file is readable by others or does not
    hold a key; the messages never show the file's content.
    """
    path = signing_key_path(settings)
    created = not path.exists() and _create(path, settings.log_origin)
    if created and settings.postgres is not None:
        log.warning(
            "created the checkpoint signing key %s: every ledgerd serving this database "
            "must sign with this same file (LEDGER_SIGNING_KEY)",
            path,
        )
    if path.stat().st_mode & 0o077:
        raise InvalidArgument(f"{path} must be readable by its owner only (chmod 600)")
    try:
        return PrivateKey.from_text(path.read_text("ascii"))
    except (VerificationError, UnicodeDecodeError):
        raise InvalidArgument(
            f"{path} does not hold a checkpoint signing key (one line PRIVATE+KEY+...)"
        ) from None


def _create(path: Path, name: str) -> bool:
    """Write a new key to ``path`` atomically; False if another process made one first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(generate_key(name).to_text() + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # fails if the file exists: never overwrite a key
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
