"""A batch's row changes, folded into as few SQL statements as give the same end state."""

from __future__ import annotations

from collections.abc import Sequence

from eventsourcing.persistence import IntegrityError

from ledger.domain.secrecy import HIDDEN, Mask
from ledger.views import EventView
from projections import sql
from projections.audit import Projectable
from projections.projector import AUDIT_COLUMNS, Change, Insert, project

RowKey = tuple[str, tuple[object, ...]]


class PendingWrites:
    """A batch's row changes, folded into as few statements as give the same end state.

    Rows of insert-only tables are appended as they come. An update of a row inserted
    in this batch changes the pending row; other updates merge per row (values are
    constants, so later ones win) and run after the inserts (they touch older rows).
    An insert drops pending updates of its key: in order they would have found no row.
    """

    def __init__(self) -> None:
        self.appended: dict[tuple[str, tuple[str, ...]], list[tuple[object, ...]]] = {}
        self.inserted: dict[RowKey, dict[str, object]] = {}
        self.updated: dict[RowKey, dict[str, object]] = {}

    def append(self, table: str, columns: tuple[str, ...], row: tuple[object, ...]) -> None:
        """A row of an insert-only table (a duplicate key fails in the database)."""
        self.appended.setdefault((table, columns), []).append(row)

    def add(self, change: Change) -> None:
        if isinstance(change, Insert):
            if change.table in sql.INSERT_ONLY:
                self.append(change.table, tuple(change.row), tuple(change.row.values()))
                return
            key = (change.table, tuple(change.row[column] for column in sql.KEYS[change.table]))
            if key in self.inserted:
                raise IntegrityError(f"{change.table} row {key[1]} inserted twice in one batch")
            self.updated.pop(key, None)
            self.inserted[key] = change.row
            return
        if change.table in sql.INSERT_ONLY:
            raise ValueError(f"{change.table} rows are never updated")
        key = (change.table, change.key)
        row = self.inserted.get(key)
        if row is not None:
            row.update(change.values)
        else:
            self.updated.setdefault(key, {}).update(change.values)

    def statements(self) -> list[tuple[str, list[tuple[object, ...]]]]:
        """(statement, parameter rows) to run in this order."""
        batches = {
            (table, True, columns): rows_ for (table, columns), rows_ in self.appended.items()
        }
        for (table, _), row in self.inserted.items():
            batches.setdefault((table, True, tuple(row)), []).append(tuple(row.values()))
        for (table, key), values in self.updated.items():
            batches.setdefault((table, False, tuple(values)), []).append((*values.values(), *key))
        return [
            ((sql.insert if is_insert else sql.update)(table, columns), rows_)
            for (table, is_insert, columns), rows_ in batches.items()
        ]


def project_batch(
    items: Sequence[Projectable], with_views: bool, mask: Mask = HIDDEN
) -> tuple[PendingWrites, list[EventView], dict[int, str]]:
    """A batch's writes, its audit entries (if ``with_views``), and each audited event's
    data text (by log position), which the tree's leaves sign (see
    :mod:`projections.merkle`). A pure function of the events: a rebuild runs it in other
    processes."""
    pending = PendingWrites()
    views: list[EventView] = []
    data: dict[int, str] = {}
    for item in items:
        changes, audit_row, view = project(item, with_views, mask)
        for change in changes:
            pending.add(change)
        if audit_row is not None:
            pending.append("events", AUDIT_COLUMNS, audit_row)
            data[item.position] = str(audit_row[-1])
        if view is not None:
            views.append(view)
    return pending, views, data
