"""Input checks of the use cases: the bounds a command's fields must keep.

Apart from :class:`~ledger.service.LedgerService` because they look at a command alone,
before any aggregate is loaded: a refusal here costs no read and names what to fix.
"""

from __future__ import annotations

from ledger.commands import UpdateEnv
from ledger.errors import InvalidArgument
from ledger.ids import check_env_key

MAX_ENV_KEYS = 1000
MAX_ENV_VALUE = 64 * 1024
MAX_TEXT = 1000
MAX_DEADLINE = 24 * 3600
MAX_NAMED_KEYS = 3  # env keys a refusal names, each cut short: a message stays one short line


def check_deadline(seconds: int) -> None:
    if seconds < 0 or seconds > MAX_DEADLINE:
        raise InvalidArgument(f"deadline must be between 1 and {MAX_DEADLINE} seconds")


def check_text(name: str, value: str) -> None:
    """A free text (a description): bounded, and without NUL, which PostgreSQL cannot
    store in the projections (one would stop them for every app)."""
    if len(value) > MAX_TEXT:
        raise InvalidArgument(f"{name} is longer than {MAX_TEXT} characters")
    if "\x00" in value:
        raise InvalidArgument(f"{name} contains a NUL byte")
    if not _encodable(value):
        raise InvalidArgument(f"{name} is not valid Unicode text (a lone surrogate)")


def _encodable(value: str) -> bool:
    """Whether the log can store ``value`` (UTF-8: no lone surrogates, which a Python
    caller can pass though no gRPC client can)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _short(key: str, length: int = 40) -> str:
    return key if len(key) <= length else key[:length] + "…"


def check_env_change(command: UpdateEnv) -> None:
    check_text("description", command.description)
    if command.replace and command.unset:
        raise InvalidArgument("replace sets the whole env: unset makes no sense with it")
    if not command.replace and not command.set_values and not command.unset:
        raise InvalidArgument("nothing to change: give keys to set or unset")
    if len(command.set_values) + len(command.unset) > MAX_ENV_KEYS:
        raise InvalidArgument(f"at most {MAX_ENV_KEYS} keys per change")
    # Each key is checked before a message names it (as the overlap below does).
    for key, value in command.set_values.items():
        check_env_key(key)
        if len(value) > MAX_ENV_VALUE:
            raise InvalidArgument(f"the value of {key} is longer than {MAX_ENV_VALUE} bytes")
        if "\x00" in value:
            raise InvalidArgument(f"the value of {key} contains a NUL byte")
        if not _encodable(value):
            raise InvalidArgument(f"the value of {key} is not valid Unicode text")
    for key in command.unset:
        check_env_key(key)
    overlap = sorted(set(command.set_values) & set(command.unset))
    if overlap:
        shown = ", ".join(_short(key) for key in overlap[:MAX_NAMED_KEYS])
        more = f" and {len(overlap) - MAX_NAMED_KEYS} more" if len(overlap) > MAX_NAMED_KEYS else ""
        raise InvalidArgument(f"{shown}{more} both set and unset")
