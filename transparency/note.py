"""C2SP signed notes (``golang.org/x/mod/sumdb/note`` format) with Ed25519 keys.

A signed note is a text ending in a newline, a blank line, then one or more signature lines
``— <key name> <base64(key id (4 bytes) || signature)>`` (an em dash U+2014 and a space
first). Each signature is over the exact UTF-8 bytes of the text, final newline included.
Our output is byte-for-byte what Go's ``note.Sign`` produces for the same key and text.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from transparency.errors import VerificationError
from transparency.keys import PrivateKey, PublicKey

SIGNATURE_PREFIX: Final = "\u2014 "


def sign_note(text: str, private_key: PrivateKey) -> str:
    """``text`` (which must end in a newline), a blank line and our signature line."""
    if not text.endswith("\n"):
        raise ValueError("a note's text must end with a newline")
    key = private_key.public_key()
    signature = base64.b64encode(key.key_id + private_key.sign(text.encode())).decode("ascii")
    return f"{text}\n{SIGNATURE_PREFIX}{key.name} {signature}\n"


def open_note(note: str, public_key: PublicKey) -> str:
    """The text of ``note`` if ``public_key`` signed it; :class:`VerificationError` otherwise.

    Signature lines by other keys (such as witness cosignatures) are ignored; every line
    by our key (name and key id) must verify, and there must be at least one.
    """
    if not note.endswith("\n"):
        raise VerificationError("malformed signed note: it must end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("malformed signed note: no blank line before the signatures")
    text, signature_lines = note[: split + 1], note[split + 2 :].split("\n")[:-1]
    if not signature_lines:
        raise VerificationError("malformed signed note: no signature line")
    ours: list[bytes] = []
    for line in signature_lines:
        name, _, blob = line.removeprefix(SIGNATURE_PREFIX).partition(" ")
        try:
            decoded = base64.b64decode(blob, validate=True)
        except binascii.Error:
            decoded = b""
        if not line.startswith(SIGNATURE_PREFIX) or not name or len(decoded) < 5:
            raise VerificationError(f"malformed signed note: bad signature line {line!r}")
        if name == public_key.name and decoded[:4] == public_key.key_id:
            ours.append(decoded[4:])
    if not ours:
        raise VerificationError(
            f"not signed by key {public_key.name} (id {public_key.key_id.hex()}): "
            "signed by another key, or this is the wrong key"
        )
    if not all(public_key.verify(signature, text.encode()) for signature in ours):
        raise VerificationError(
            f"the signature by {public_key.name} does not verify: the signed text or the "
            "signature was altered"
        )
    return text
