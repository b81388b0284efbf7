"""Ed25519 keys for signing checkpoints, in the text forms of Go's signed-note package.

Both forms are single ASCII lines, interoperable with ``golang.org/x/mod/sumdb/note``:

- public (verifier) key: ``<name>+<key id, 8 lowercase hex digits>+<base64(0x01 || 32-byte
  Ed25519 public key)>``, e.g. ``ledger.example.com+3c5a1f02+AdV...=``. Safe to publish.
- private (signer) key: ``PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || 32-byte Ed25519
  seed)>``. Secret: store it like any other credential.

The name identifies the signer (by convention the log's origin); it is non-empty and
contains neither whitespace nor ``+``. The key id is the first 4 bytes of
``SHA-256(name || "\\n" || 0x01 || public key)`` (0x01 is the note algorithm byte for
Ed25519), so a verifier can pick the right signature line without trying them all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from transparency.errors import VerificationError

ALGORITHM_ED25519: Final = b"\x01"
_PRIVATE_PREFIX: Final = "PRIVATE+KEY+"


def check_key_name(name: str) -> None:
    """Reject names a signature line or key text could not carry unambiguously."""
    if not name or "+" in name or any(c.isspace() or not c.isprintable() for c in name):
        raise VerificationError(f"invalid key name {name!r}: non-empty, no spaces, no '+'")


def key_id(name: str, public_raw: bytes) -> bytes:
    """The 4-byte note key id: SHA-256(name || "\\n" || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ALGORITHM_ED25519 + public_raw).digest()[:4]


def _decode_key(name: str, id_hex: str, b64: str, what: str) -> bytes:
    check_key_name(name)
    try:
        blob = base64.b64decode(b64, validate=True)
        expected_id = bytes.fromhex(id_hex)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"malformed {what}: {exc}") from None
    if len(expected_id) != 4 or id_hex != expected_id.hex():
        raise VerificationError(f"malformed {what}: the key id must be 8 lowercase hex digits")
    if len(blob) != 33 or blob[:1] != ALGORITHM_ED25519:
        raise VerificationError(f"malformed {what}: not an Ed25519 key (0x01 + 32 bytes)")
    return blob[1:]


@dataclass(frozen=True)
class PublicKey:
    """A named Ed25519 verifier key."""

    name: str
    raw: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.raw) != 32:
            raise VerificationError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.raw)

    def to_text(self) -> str:
        """``<name>+<key id hex>+<base64(0x01 || key)>`` (see the module doc)."""
        blob = base64.b64encode(ALGORITHM_ED25519 + self.raw).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        """Parse :meth:`to_text` output; the key id must match the name and key."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise VerificationError("malformed public key: expected <name>+<key id>+<key>")
        key = cls(parts[0], _decode_key(parts[0], parts[1], parts[2], "public key"))
        if key.key_id.hex() != parts[1]:
            raise VerificationError("malformed public key: key id does not match name and key")
        return key

    def verify(self, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class PrivateKey:
    """A named Ed25519 signer key (the 32-byte seed; never shown in ``repr``)."""

    name: str
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.seed) != 32:
            raise VerificationError("an Ed25519 private key seed is 32 bytes")

    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    def public_key(self) -> PublicKey:
        raw = (
            self._key()
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return PublicKey(self.name, raw)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key().sign(message)

    def to_text(self) -> str:
        """``PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`` (see the module doc)."""
        blob = base64.b64encode(ALGORITHM_ED25519 + self.seed).decode("ascii")
        return f"{_PRIVATE_PREFIX}{self.name}+{self.public_key().key_id.hex()}+{blob}"

    @classmethod
    def from_text(cls, text: str) -> PrivateKey:
        """Parse :meth:`to_text` output; the key id must match the name and derived key."""
        text = text.strip()
        if not text.startswith(_PRIVATE_PREFIX):
            raise VerificationError(f"malformed private key: expected {_PRIVATE_PREFIX}...")
        parts = text[len(_PRIVATE_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise VerificationError("malformed private key: expected <name>+<key id>+<key>")
        key = cls(parts[0], _decode_key(parts[0], parts[1], parts[2], "private key"))
        if key.public_key().key_id.hex() != parts[1]:
            raise VerificationError("malformed private key: key id does not match the key")
        return key

    @classmethod
    def from_pem(cls, name: str, pem: bytes) -> PrivateKey:
        """Load an unencrypted PKCS#8 Ed25519 key (``openssl genpkey -algorithm ed25519``)."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise VerificationError(f"malformed PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise VerificationError("the PEM private key is not an Ed25519 key")
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(name, seed)


def generate_key(name: str) -> PrivateKey:
    """A fresh random Ed25519 signer key called ``name`` (use the log's origin)."""
    seed = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return PrivateKey(name, seed)
