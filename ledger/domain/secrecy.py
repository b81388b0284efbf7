"""What is secret in the log, and the one way a secret is masked.

Environment values are secrets. Every field that holds them, in an event or an aggregate,
is declared where it is defined with :data:`SecretValues` (a mapping whose keys may be
shown and whose values may not); a field no view may show at all (a token's hash) is
declared :data:`Unlisted`. Nothing else decides what is secret: the audit timeline, the
API, the console and the CLI all show what :class:`Mask` makes of a value, and a test
drives every event type with secret values and fails when one would leak.

Masked means one of two things, both made here (and a process's own words, such as its
output or a health check's answer, have the env values found in them hidden too):

- **hidden** (:data:`MASK`, ``***``): what a key that may not see values gets, and what
  everyone gets unless they ask to reveal;
- **digested** (``hmac-sha256:<16 hex>`` under a key the ledger keeps secret): what the
  audit record holds, so an auditor sees that a value changed, and to what it was equal,
  without seeing it (a plain hash of a short secret could be brute-forced).
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from collections.abc import Iterable, Mapping
from enum import Enum
from functools import cache
from typing import Annotated, Any, get_args, get_origin


class Secrecy(Enum):
    """How a declared field is kept from view."""

    SECRET_VALUES = "secret values"  # a mapping: its keys are shown, its values masked
    UNLISTED = "unlisted"  # never shown by any view


SecretValues = Annotated[dict[str, str], Secrecy.SECRET_VALUES]
"""A mapping of env keys to secret values (an event's ``values``, a release's ``env``)."""

Unlisted = Annotated[str, Secrecy.UNLISTED]
"""A field kept out of every view (the SHA-256 of a deploy key's token)."""

MASK = "***"
DIGEST_PREFIX = "hmac-sha256:"
MIN_SECRET = 6
"""Values shorter than this are not hidden inside free text: ``true`` or ``8080`` are not
secrets, and hiding them wherever they occur would garble the text."""


def declared(kind: type) -> dict[str, Secrecy]:
    """The fields of ``kind`` (an event or aggregate class) declared secret, and how."""
    return dict(_declared(kind))


@cache
def _declared(kind: type) -> tuple[tuple[str, Secrecy], ...]:
    found: dict[str, Secrecy] = {}
    for klass in reversed(kind.__mro__):
        module = sys.modules.get(klass.__module__)
        names = vars(module) if module is not None else {}
        for field, annotation in vars(klass).get("__annotations__", {}).items():
            secrecy = _secrecy(annotation, names)
            if secrecy is not None:
                found[field] = secrecy
            else:
                found.pop(field, None)
    return tuple(found.items())


def _secrecy(annotation: object, names: Mapping[str, Any]) -> Secrecy | None:
    """The secrecy an annotation declares; annotations are strings under ``from
    __future__ import annotations`` and only our own two names can declare one."""
    if isinstance(annotation, str):
        annotation = names.get(annotation.strip())
    if get_origin(annotation) is not Annotated:
        return None
    marks = [mark for mark in get_args(annotation)[1:] if isinstance(mark, Secrecy)]
    return marks[0] if marks else None


class Mask:
    """The one masking function of the ledger (see the module docstring).

    ``audit_key`` is the key of the audit digests; without one, digests are hidden too.
    """

    def __init__(self, audit_key: bytes | None = None) -> None:
        self._key = audit_key

    def __call__(self, value: object, *, audit: bool = False) -> str:
        """``value`` masked: hidden, or (``audit``) its keyed digest."""
        if not audit or self._key is None or not isinstance(value, str):
            return MASK
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return DIGEST_PREFIX + digest[:16]

    def env(self, values: Mapping[str, str], *, reveal: bool = False) -> dict[str, str]:
        """Env values as shown: themselves when revealed (the caller checked that it
        may), else every value hidden. Keys are sorted."""
        return {key: values[key] if reveal else self(values[key]) for key in sorted(values)}

    def text(self, text: str, values: Iterable[str]) -> str:
        """``text`` (free text a process wrote: its output, a health check's answer) with
        each of the env ``values`` found in it hidden, the longest first (a value that
        contains another is hidden whole)."""
        for value in sorted({v for v in values if len(v) >= MIN_SECRET}, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text

    def fields(self, source: object, fields: Mapping[str, Any]) -> dict[str, Any]:
        """``fields`` of ``source`` (an event or aggregate) as the audit record holds
        them: secret values digested, unlisted fields left out."""
        shown = dict(fields)
        kind: type = type(source)
        for field, secrecy in _declared(kind):
            if field not in shown:
                continue
            if secrecy is Secrecy.UNLISTED:
                del shown[field]
            elif isinstance(shown[field], Mapping):
                shown[field] = {k: self(v, audit=True) for k, v in shown[field].items()}
            else:  # a declared mapping that is not one: hide it whole
                shown[field] = MASK
        return shown


HIDDEN = Mask()
"""A mask without an audit key: every value hidden."""
