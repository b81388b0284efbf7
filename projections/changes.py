"""The row changes an event makes in the projection tables (see ``projector.py``)."""

from __future__ import annotations

from typing import NamedTuple


class Insert(NamedTuple):
    """A new row of ``table`` (every column given)."""

    table: str
    row: dict[str, object]


class Update(NamedTuple):
    """New values for some columns of the row of ``table`` with primary key ``key``.

    Values are constants taken from the event, never expressions over the old row, so
    successive updates of one row can be merged (the store relies on it).
    """

    table: str
    key: tuple[object, ...]
    values: dict[str, object]


Change = Insert | Update
