"""Identifiers and names: generation and validation.

Public ids are a one-letter kind prefix plus ten characters of an unambiguous,
URL-safe alphabet (``B``uild, ``R``elease, ``P``romotion). Internally every aggregate
is keyed by a UUID derived from its public id, so lookups need no index.
"""

import re
import secrets
from uuid import NAMESPACE_URL, UUID, uuid5

from ledger.errors import InvalidArgument

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ID_LENGTH = 10
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,255}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

BUILD = "B"
RELEASE = "R"
PROMOTION = "P"
JOB = "J"
COMMAND_RUN = "C"
KIND_NAMES = {
    BUILD: "build",
    RELEASE: "release",
    PROMOTION: "promotion",
    JOB: "job",
    COMMAND_RUN: "command run",
}
"""What each kind of public id names, as messages say it."""
_PUBLIC_ID = {kind: re.compile(rf"^{kind}[{ALPHABET}]{{{ID_LENGTH}}}$") for kind in KIND_NAMES}


def new_id(kind: str) -> str:
    """A fresh random public id of the given kind (about 50 bits of randomness)."""
    # One read of the OS's random source; the 32 letters divide 256: each is equally likely.
    return kind + "".join(ALPHABET[byte % len(ALPHABET)] for byte in secrets.token_bytes(ID_LENGTH))


def is_id(kind: str, value: str) -> bool:
    """Whether ``value`` is a well-formed id of ``kind``."""
    return _PUBLIC_ID[kind].fullmatch(value) is not None


def check_id(kind: str, value: str) -> str:
    """Return ``value`` if it is a well-formed id of ``kind``, else raise."""
    if not is_id(kind, value):
        raise InvalidArgument(f"{value[:40]!r} is not a {KIND_NAMES[kind]} id")
    return value


def check_app_name(name: str) -> str:
    if not APP_NAME.fullmatch(name):
        raise InvalidArgument(
            f"invalid app name {name[:40]!r}: use 1-30 lowercase letters, digits or '-', "
            "starting with a letter"
        )
    return name


def check_env_key(key: str) -> str:
    if not ENV_KEY.fullmatch(key):
        raise InvalidArgument(
            f"invalid environment key {key[:40]!r}: use letters, digits and '_', "
            "not starting with a digit"
        )
    return key


def check_request_id(request_id: str) -> str:
    if request_id and not REQUEST_ID.fullmatch(request_id):
        raise InvalidArgument("invalid request_id: use 1-128 letters, digits or ._:-")
    return request_id


def aggregate_id(kind: str, key: str) -> UUID:
    """The UUID of the aggregate behind a public id or name (deterministic)."""
    return uuid5(NAMESPACE_URL, f"ledger:{kind}:{key}")
