"""The tables of notification targets and their deliveries, and the statements on them.

Part of :mod:`projections.sql` (same ``{table}`` and ``?`` conventions). Two kinds of
table, on purpose:

- ``notification_targets`` is a projection: filled from the targets' events by
  :mod:`projections.notifications`, emptied and rebuilt with every other view;
- ``notify_positions`` and ``notify_deliveries`` are the delivery worker's own records
  (how far each target got, every attempt), written as it sends, like a projection's
  tracking row. They are not derived from the log, so a rebuild of the views keeps them
  (:data:`TABLES` leaves them out): a target does not resend what it delivered.
"""

from __future__ import annotations

TABLES = ("notification_targets",)
STATE_TABLES = ("notify_positions", "notify_deliveries")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {notification_targets} (
        id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, app TEXT NOT NULL,
        format TEXT NOT NULL, actor TEXT NOT NULL, created_at BIGINT NOT NULL,
        position BIGINT NOT NULL, deleted INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {notify_positions} (
        target_id TEXT PRIMARY KEY, position BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {notify_deliveries} (
        target_id TEXT NOT NULL, log_position BIGINT NOT NULL, delivery_id TEXT NOT NULL,
        event TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
        status_code INTEGER NOT NULL, error TEXT NOT NULL, first_attempt_at BIGINT NOT NULL,
        last_attempt_at BIGINT NOT NULL, PRIMARY KEY (target_id, log_position))""",
    "CREATE INDEX IF NOT EXISTS {ix}notify_deliveries_time"
    " ON {notify_deliveries} (last_attempt_at)",
)

KEYS: dict[str, tuple[str, ...]] = {"notification_targets": ("id",)}

# -- reads ---------------------------------------------------------------------------------

_TARGET_COLUMNS = (
    "SELECT t.*, COALESCE(p.position, t.position) AS delivered"
    " FROM {notification_targets} t LEFT JOIN {notify_positions} p ON p.target_id = t.id"
)
SELECT_TARGET = _TARGET_COLUMNS + " WHERE t.id = ?"
LIST_TARGETS = _TARGET_COLUMNS + " WHERE t.deleted <= ? ORDER BY t.position"
LIST_DELIVERIES = (
    "SELECT * FROM {notify_deliveries} ORDER BY last_attempt_at DESC, log_position DESC LIMIT ?"
)
SELECT_DELIVERY = "SELECT * FROM {notify_deliveries} WHERE target_id = ? AND log_position = ?"
TARGET_DELIVERIES = (
    "SELECT * FROM {notify_deliveries} WHERE target_id = ? ORDER BY log_position DESC LIMIT ?"
)

# -- the worker's writes -------------------------------------------------------------------

RECORD_ATTEMPT = (
    "INSERT INTO {notify_deliveries} AS d (target_id, log_position, delivery_id, event, status,"
    " attempts, status_code, error, first_attempt_at, last_attempt_at)"
    " VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)"
    " ON CONFLICT (target_id, log_position) DO UPDATE SET status = excluded.status,"
    " attempts = d.attempts + 1, status_code = excluded.status_code,"
    " error = excluded.error, last_attempt_at = excluded.last_attempt_at"
)
ADVANCE = (
    "INSERT INTO {notify_positions} AS p (target_id, position) VALUES (?, ?)"
    " ON CONFLICT (target_id) DO UPDATE SET position = excluded.position"
    " WHERE excluded.position > p.position"
)
