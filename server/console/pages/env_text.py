"""The env as text: ``KEY=VALUE`` lines, to edit a whole environment in one textarea.

Parsing refuses a malformed line or a key given twice with the line's number, never its
content: a line that is not ``KEY=VALUE`` may well be a pasted secret, so a refusal says
where to look, not what it found. Values are taken exactly as typed after the first
``=`` (spaces included), so what :func:`env_text` writes parses back to the same env.
"""

from __future__ import annotations

from ledger.errors import InvalidArgument
from ledger.ids import ENV_KEY

KEY_RULE = "letters, digits and '_', not starting with a digit"


def lines_of(text: str) -> list[str]:
    """The lines of a submitted textarea (browsers send CRLF line breaks)."""
    return text.replace("\r\n", "\n").split("\n")


def parse_env_text(text: str) -> dict[str, str]:
    """The env ``text`` describes; blank lines and ``#`` comments are ignored.

    Raises InvalidArgument naming the first bad line: not ``KEY=VALUE``, a key that is
    not a valid name, or a key already given on an earlier line.
    """
    env: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines_of(text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals:
            raise InvalidArgument(f"line {number} is not KEY=VALUE")
        if not ENV_KEY.fullmatch(key):
            raise InvalidArgument(f"line {number}: the key is not a valid name ({KEY_RULE})")
        if key in env:
            raise InvalidArgument(f"line {number}: {key} is already set on line {first_line[key]}")
        env[key] = value
        first_line[key] = number
    return env


def multiline_keys(env: dict[str, str]) -> list[str]:
    """Keys whose values hold a line break: one line per key cannot show them."""
    return sorted(key for key, value in env.items() if "\n" in value or "\r" in value)


def env_text(env: dict[str, str]) -> str:
    """``KEY=VALUE`` lines of ``env``, sorted by key (one per line, no trailing break)."""
    return "\n".join(f"{key}={env[key]}" for key in sorted(env))
