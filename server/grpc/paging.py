"""Page sizes and opaque page tokens for every List method (AIP-158).

A token is URL-safe base64 of a small JSON object: the keyset cursor of the last item
sent and a hash of the request's other fields. A token that does not decode, or that
comes with different filters than the request that produced it, is INVALID_ARGUMENT:
a caller cannot page through one listing with another listing's token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ledger.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_TOKEN_LENGTH = 1024
MAX_CURSOR = 2**63 - 1  # numeric cursors are positions and versions: int64 in every database

T = TypeVar("T")
Cursor = str | int


@dataclass(frozen=True)
class PageRequest:
    """One page to fetch: how many items, after which cursor (None: the first page)."""

    size: int
    cursor: Cursor | None
    scope: str


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


def page_request(page_size: int, page_token: str, scope: Any) -> PageRequest:
    """Validate ``page_size``/``page_token``; ``scope`` is the request's other fields."""
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative")
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    digest = _digest(scope)
    cursor = _decode(page_token, digest) if page_token else None
    return PageRequest(size=size, cursor=cursor, scope=digest)


def paginate(
    request: PageRequest, fetched: Sequence[T], cursor_of: Callable[[T], Cursor]
) -> Page[T]:
    """Cut ``fetched`` (up to ``size + 1`` items) into a page and the next token.

    Fetching one item more than the page tells whether another page exists, so the
    last page never comes with a token that leads to an empty page.
    """
    items = list(fetched[: request.size])
    if len(fetched) <= request.size or not items:
        return Page(items, "")
    return Page(items, encode_token(cursor_of(items[-1]), request.scope))


def encode_token(cursor: Cursor, scope: str) -> str:
    body = json.dumps({"c": cursor, "s": scope}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def _decode(token: str, digest: str) -> Cursor:
    invalid = InvalidArgument("invalid page_token: start again without one")
    if len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise invalid from None
    if not isinstance(body, dict) or body.get("s") != digest:
        raise InvalidArgument("page_token does not match this request: start again without one")
    cursor = body.get("c")
    if isinstance(cursor, bool) or not isinstance(cursor, str | int):
        raise invalid
    return cursor


def _digest(scope: Any) -> str:
    body = json.dumps(scope, sort_keys=True, default=str).encode()
    return hashlib.sha256(body).hexdigest()[:16]


def int_cursor(request: PageRequest) -> int:
    """The cursor of a list paginated by a number (position, version); 0 on page one."""
    if request.cursor is None:
        return 0
    if not isinstance(request.cursor, int) or not 0 < request.cursor <= MAX_CURSOR:
        raise InvalidArgument("invalid page_token: start again without one")
    return request.cursor


def str_cursor(request: PageRequest) -> str:
    """The cursor of a list paginated by a name; '' on page one."""
    if request.cursor is None:
        return ""
    if not isinstance(request.cursor, str):
        raise InvalidArgument("invalid page_token: start again without one")
    return request.cursor
