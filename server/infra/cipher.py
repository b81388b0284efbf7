"""Environment values encrypted at rest: the library's AES-GCM cipher, and its key.

Every event's and snapshot's state is encrypted by the ``eventsourcing`` mapper before it
is stored (topics, ids and versions stay readable, so the log can still be ordered,
projected and hashed into the Merkle tree without the key). The key comes from
``LEDGER_CIPHER_KEY``, else from a key file (``LEDGER_CIPHER_KEY_FILE``, default
``$LEDGER_DATA/cipher.key``) created on first start with owner-only permissions.

States written before encryption was enabled are plaintext JSON; encrypted states carry
a marker so both read back, and a ledger can switch encryption on without rewriting
anything (the log is append-only).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from base64 import b64decode
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.application import Application
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment

from ledger.errors import InvalidArgument, Unavailable
from server.infra.settings import Settings

CIPHER_TOPIC = "server.infra.cipher:LedgerCipher"
KEY_BYTES = 32


class LedgerCipher(AESCipher):
    """AES-GCM that marks what it encrypted and passes older plaintext states through.

    The layout after the mark is the library's (nonce, tag, ciphertext), so
    ``AESCipher`` reads what this writes and the reverse; unlike the library, one
    ``AESGCM`` is kept for the key instead of one made per call (its key setup was a
    sixth of a rebuild's decoding). ``AESGCM`` may be shared between threads.
    """

    MARK = b"\x00LC1"  # a JSON or zlib state never starts with a NUL byte
    NONCE, TAG = 12, 16

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._aesgcm = AESGCM(self.key)

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = self.random_bytes(self.NONCE)
        sealed = self._aesgcm.encrypt(nonce, plaintext, None)
        return self.MARK + nonce + sealed[-self.TAG :] + sealed[: -self.TAG]

    def decrypt(self, ciphertext: bytes) -> bytes:
        if not ciphertext.startswith(self.MARK):
            return ciphertext  # stored before encryption was enabled
        body = ciphertext[len(self.MARK) :]
        if len(body) < self.NONCE + self.TAG:
            raise ValueError("Damaged cipher text: too short for its nonce and tag")
        nonce, tag = body[: self.NONCE], body[self.NONCE : self.NONCE + self.TAG]
        try:
            return self._aesgcm.decrypt(nonce, body[self.NONCE + self.TAG :] + tag, None)
        except InvalidTag as error:
            raise ValueError("Invalid cipher tag") from error


def cipher_key(settings: Settings) -> str:
    """The key from the settings, or the key file (created with mode 0600 if absent)."""
    if settings.cipher_key:
        return settings.cipher_key
    path = settings.cipher_key_file or settings.data_dir / "cipher.key"
    if not path.exists():
        _create_key_file(path)
    if path.stat().st_mode & 0o077:
        raise InvalidArgument(f"{path} must be readable by its owner only (chmod 600)")
    key = path.read_text().strip()
    if not key:
        raise InvalidArgument(f"{path} is empty: restore the ledger's cipher key")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESCipher.create_key(KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")


def audit_digest_key(key: str) -> bytes:
    """The key of the audit views' value digests, derived from (never equal to) the cipher key."""
    return hmac.new(b64decode(key), b"deploy-ledger audit value digest v1", hashlib.sha256).digest()


def check_cipher_key(application: Application[Any]) -> None:
    """Refuse to serve a ledger whose newest event this key cannot decrypt.

    Without this, a ``ledgerd`` given another key (a second process on PostgreSQL, a
    restored data dir) would append events nobody else can read.
    """
    recorder = application.recorder
    newest = recorder.max_notification_id()
    if not newest:
        return
    notifications = recorder.select_notifications(start=newest, limit=1)
    for notification in notifications:
        try:
            application.mapper.cipher.decrypt(notification.state)  # type: ignore[union-attr]
        except (InvalidTag, ValueError):
            raise Unavailable(
                "the cipher key does not decrypt this ledger's events: give ledgerd the key "
                "the ledger was written with (LEDGER_CIPHER_KEY or LEDGER_CIPHER_KEY_FILE)"
            ) from None
