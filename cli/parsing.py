"""Parsing of command-line values: ``K=V`` pairs, env keys, log positions, times, durations,
a workflow's ``SERVICE: COMMAND`` hooks.

Every function raises ``click.BadParameter`` (a usage error, exit 2) on bad input, so the
server is never asked a question the client already knows is malformed. The server stays
the authority: these checks only catch typos early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import click

ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_DURATION = re.compile(r"^(?:\d+[smhdw])+$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def env_key(key: str) -> str:
    """Check an environment key (``^[A-Za-z_][A-Za-z0-9_]*$``) and return it."""
    if not ENV_KEY.match(key):
        raise click.BadParameter(
            f"{key!r} is not a valid key: use letters, digits and _, not starting with a digit"
        )
    return key


def env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """Parse ``K=V`` arguments (split on the first ``=``; ``V`` may be empty or contain
    ``=``). A key given twice is an error rather than a silent last-one-wins."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE")
        env_key(key)
        if key in result:
            raise click.BadParameter(f"{key} is given twice")
        result[key] = value
    return result


def env_keys(keys: Iterable[str]) -> list[str]:
    """Check keys for ``env unset``; duplicates are dropped, order is kept."""
    seen: dict[str, None] = {}
    for key in keys:
        if "=" in key:
            raise click.BadParameter(f"{key!r}: give keys only, without =VALUE")
        seen[env_key(key)] = None
    return list(seen)


def duration(text: str) -> timedelta:
    """Parse a duration like ``90s``, ``15m``, ``2h``, ``3d``, ``1w`` or ``1h30m``."""
    if not _DURATION.match(text):
        raise click.BadParameter(f"{text!r} is not a duration like 15m, 2h or 3d")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def seconds(text: str) -> int:
    """Parse ``--poll``/``--timeout``: a duration (``60s``, ``5m``, ``1h30m``) or a whole
    number of seconds (``90``; ``0`` means none)."""
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    if not _DURATION.match(stripped):
        raise click.BadParameter(f"{text!r} is not a duration like 60s, 5m or 1h")
    return int(duration(stripped).total_seconds())


def seconds_callback(
    _ctx: click.Context, _param: click.Parameter, value: str | int | None
) -> int | None:
    """A click callback for a duration option: its value as :func:`seconds`, None unset."""
    if value is None or isinstance(value, int):
        return value
    return seconds(value)


def hook(text: str) -> str:
    """Check a before/after-promote command ``SERVICE: COMMAND`` and return it tidied
    (``web: rake db:migrate``); ledgerd checks the service name and the length."""
    service, colon, command = text.partition(":")
    if not colon or not service.strip() or not command.strip():
        raise click.BadParameter(
            f"{text!r} is not 'SERVICE: COMMAND' (e.g. 'web: rake db:migrate')"
        )
    return f"{service.strip()}: {command.strip()}"


def rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 time with an explicit offset (``Z`` or ``±hh:mm``); naive times
    are rejected because they are ambiguous."""
    try:
        parsed = datetime.fromisoformat(text.strip().upper().replace(" ", "T", 1))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an RFC 3339 time like 2026-11-26T19:28:08Z"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise click.BadParameter(f"{text!r} needs a UTC offset, e.g. 2026-11-26T19:28:08Z")
    return parsed.astimezone(UTC)


def point_in_time(text: str, now: datetime) -> datetime:
    """Parse ``--since``/``--until``: an RFC 3339 time, or a duration meaning "that long
    before ``now``"."""
    if _DURATION.match(text):
        return now - duration(text)
    return rfc3339(text)


@dataclass(frozen=True)
class AsOf:
    """Where a time-travel question is asked: a log position, or a moment."""

    position: int = 0
    time: datetime | None = None


def as_of(text: str, now: datetime) -> AsOf:
    """Parse ``--at``: a log position (a positive integer), an RFC 3339 time, or a
    duration meaning "that long ago"."""
    stripped = text.strip()
    if stripped.isdigit():
        position = int(stripped)
        if position < 1:
            raise click.BadParameter("a log position starts at 1")
        return AsOf(position=position)
    return AsOf(time=point_in_time(stripped, now))
