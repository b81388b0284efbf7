"""How a delivery is signed, the way GitHub signs its webhooks, so a receiver can reuse
what it has: ``X-Ledger-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>``."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Ledger-Signature-256"
PREFIX = "sha256="


def signature(secret: str, body: bytes) -> str:
    """The header's value for ``body`` under the target's ``secret``."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` signs ``body`` (in constant time): what a receiver does."""
    return hmac.compare_digest(signature(secret, body), header)
