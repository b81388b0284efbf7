"""The belongs-to-app rule: a build, release or promotion named within an app must be one of
that app's, else it is NOT_FOUND.

Both sides apply it, from here: the use cases when they load an aggregate by its public id
(``LedgerApplication.release(app, id)``), and the read side when it answers a query
(:mod:`ledger.queries`). An unknown id and another app's id get the same answer, so a key
that may read one app learns nothing about the ids of another.
"""

from __future__ import annotations

from typing import TypeVar

from ledger.errors import NotFound

T = TypeVar("T")


def owned(found: T | None, owner: str, noun: str, public_id: str, app: str) -> T:
    """``found`` (whose app is ``owner``), if it exists and belongs to ``app`` when an app
    is given; NOT_FOUND otherwise."""
    if found is None or (app and owner != app):
        where = f" in app {app}" if app else ""
        raise NotFound(f"{noun} {public_id} not found{where}")
    return found
