"""The projection tables and every SQL statement on them, written once for both databases.

Reads are spelled out; writes (one-row INSERT, UPDATE by primary key) are generated from
the tables' keys. Statements use ``?`` placeholders and ``{table}`` names;
:class:`Dialect` turns them into
what sqlite3 (``?``, bare table names in the views' own file) or psycopg (``%s``,
schema-qualified ``ledger_view_*`` names in the events' database) expects. Values are
stored portably: timestamps as microseconds since the Unix epoch (BIGINT: exact, and
ordered and compared the same on both), booleans as 0/1 integers, JSON as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ledger.domain.promotion import PromotionStatus
from projections import notification_sql, workflow_sql

# Bump when a table or a projected column changes: the new version's tables (and, through
# VIEWS_NAME, its tracking) start empty and the worker projects the whole log into them.
# Views are derived data, so a version change needs no migration, only a catch-up.
# 4: the Merkle tree's leaves are format 2 (they sign each event's audit record).
SCHEMA_VERSION = 4
TABLE_PREFIX = f"ledger_view{SCHEMA_VERSION}_"

TABLES = (
    "apps",
    "releases",
    "builds",
    "build_logs",
    "promotions",
    "promotion_steps",
    "env_changes",
    "activations",
    "events",
    "rack_releases",
    "keys",
    *workflow_sql.TABLES,  # workflows, jobs, deliveries: see projections/workflows.py
    "merkle_nodes",  # the Merkle tree of the log: see projections/merkle.py
    "merkle_gaps",
    *notification_sql.TABLES,  # notification targets: see projections/notifications.py
)
TERMINAL_PROMOTION_STATUSES = tuple(s.value for s in PromotionStatus if s.terminal)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {apps} (
        name TEXT PRIMARY KEY, created_at BIGINT NOT NULL, actor TEXT NOT NULL,
        env_version INTEGER NOT NULL, active_release_id TEXT NOT NULL,
        promotion_id TEXT NOT NULL, desired_release_id TEXT NOT NULL,
        release_count INTEGER NOT NULL, latest_release_id TEXT NOT NULL,
        deadline_seconds INTEGER NOT NULL, position BIGINT NOT NULL,
        auto_promotion_paused TEXT NOT NULL, archived INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {releases} (
        id TEXT PRIMARY KEY, app TEXT NOT NULL, version INTEGER NOT NULL,
        build_id TEXT NOT NULL, image TEXT NOT NULL, env_version INTEGER NOT NULL,
        env_keys TEXT NOT NULL, reason TEXT NOT NULL, parent_id TEXT NOT NULL,
        description TEXT NOT NULL, actor TEXT NOT NULL, created_at BIGINT NOT NULL,
        position BIGINT NOT NULL, ever_active INTEGER NOT NULL, last_activated_at BIGINT)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS {ix}releases_app_version ON {releases} (app, version)",
    """CREATE TABLE IF NOT EXISTS {builds} (
        id TEXT PRIMARY KEY, app TEXT NOT NULL, status TEXT NOT NULL,
        description TEXT NOT NULL, image TEXT NOT NULL, source TEXT NOT NULL,
        actor TEXT NOT NULL, created_at BIGINT NOT NULL, position BIGINT NOT NULL,
        release_id TEXT NOT NULL, started_at BIGINT, ended_at BIGINT, error TEXT NOT NULL,
        images TEXT NOT NULL, git_commit TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS {ix}builds_app_position ON {builds} (app, position)",
    "CREATE INDEX IF NOT EXISTS {ix}builds_status ON {builds} (status)",
    """CREATE TABLE IF NOT EXISTS {build_logs} (
        build_id TEXT NOT NULL, seq BIGINT NOT NULL, text TEXT NOT NULL,
        position BIGINT NOT NULL, PRIMARY KEY (build_id, seq))""",
    """CREATE TABLE IF NOT EXISTS {promotions} (
        id TEXT PRIMARY KEY, app TEXT NOT NULL, release_id TEXT NOT NULL,
        previous_release_id TEXT NOT NULL, status TEXT NOT NULL, actor TEXT NOT NULL,
        description TEXT NOT NULL, deadline_seconds INTEGER NOT NULL,
        created_at BIGINT NOT NULL, position BIGINT NOT NULL, started_at BIGINT,
        ended_at BIGINT, cause TEXT, queued INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS {ix}promotions_app_position ON {promotions} (app, position)",
    "CREATE INDEX IF NOT EXISTS {ix}promotions_status ON {promotions} (status)",
    """CREATE TABLE IF NOT EXISTS {promotion_steps} (
        promotion_id TEXT NOT NULL, position BIGINT NOT NULL, time BIGINT NOT NULL,
        kind TEXT NOT NULL, message TEXT NOT NULL, PRIMARY KEY (promotion_id, position))""",
    """CREATE TABLE IF NOT EXISTS {env_changes} (
        app TEXT NOT NULL, env_version INTEGER NOT NULL, added TEXT NOT NULL,
        changed TEXT NOT NULL, removed TEXT NOT NULL, description TEXT NOT NULL,
        actor TEXT NOT NULL, time BIGINT NOT NULL, position BIGINT NOT NULL,
        PRIMARY KEY (app, env_version))""",
    """CREATE TABLE IF NOT EXISTS {activations} (
        position BIGINT PRIMARY KEY, app TEXT NOT NULL, release_id TEXT NOT NULL,
        promotion_id TEXT NOT NULL, time BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS {ix}activations_app_position ON {activations} (app, position)",
    "CREATE INDEX IF NOT EXISTS {ix}activations_app_time ON {activations} (app, time)",
    """CREATE TABLE IF NOT EXISTS {events} (
        position BIGINT PRIMARY KEY, type TEXT NOT NULL, app TEXT NOT NULL,
        actor TEXT NOT NULL, time BIGINT NOT NULL, request_id TEXT NOT NULL,
        data TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS {ix}events_app_position ON {events} (app, position)",
    "CREATE INDEX IF NOT EXISTS {ix}events_time ON {events} (time)",
    """CREATE TABLE IF NOT EXISTS {rack_releases} (
        position BIGINT PRIMARY KEY, version TEXT NOT NULL, started_at BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {keys} (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, apps TEXT NOT NULL,
        token_hash TEXT NOT NULL, actor TEXT NOT NULL, created_at BIGINT NOT NULL,
        position BIGINT NOT NULL, revoked_at BIGINT, revoked_by TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS {ix}keys_token_hash ON {keys} (token_hash)",
    # BYTEA is PostgreSQL's type; SQLite gives the name NUMERIC affinity, which keeps a
    # BLOB value as it is, so one statement serves both.
    """CREATE TABLE IF NOT EXISTS {merkle_nodes} (
        level INTEGER NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL,
        PRIMARY KEY (level, idx))""",
    """CREATE TABLE IF NOT EXISTS {merkle_gaps} (
        leaf BIGINT PRIMARY KEY, position BIGINT NOT NULL)""",
    *workflow_sql.SCHEMA,
    *notification_sql.SCHEMA,
)

# -- writes: generated from the tables' keys, so each shape is spelled in one place ---------

KEYS: dict[str, tuple[str, ...]] = {
    "apps": ("name",),
    "releases": ("id",),
    "builds": ("id",),
    "build_logs": ("build_id", "seq"),
    "promotions": ("id",),
    "promotion_steps": ("promotion_id", "position"),
    "env_changes": ("app", "env_version"),
    "activations": ("position",),
    "events": ("position",),
    "rack_releases": ("position",),
    "keys": ("id",),
    **workflow_sql.KEYS,
    **notification_sql.KEYS,
}

INSERT_ONLY = frozenset(
    {"events", "activations", "promotion_steps", "env_changes", "rack_releases", "build_logs"}
    | workflow_sql.INSERT_ONLY
)


def insert(table: str, columns: tuple[str, ...]) -> str:
    """``INSERT`` of one row of ``columns`` (a duplicate key is an IntegrityError)."""
    names = ", ".join(columns)
    return f"INSERT INTO {{{table}}} ({names}) VALUES " + in_list(len(columns))


def update(table: str, columns: tuple[str, ...]) -> str:
    """``UPDATE`` of ``columns`` of the row with the given key (parameters: values, key)."""
    assignments = ", ".join(f"{column} = ?" for column in columns)
    where = " AND ".join(f"{column} = ?" for column in KEYS[table])
    return f"UPDATE {{{table}}} SET {assignments} WHERE {where}"


# -- reads ---------------------------------------------------------------------------------

SELECT_APP = "SELECT * FROM {apps} WHERE name = ?"
LIST_APPS = "SELECT * FROM {apps} WHERE name > ? ORDER BY name LIMIT ?"
# A release's commit is its build's (NULL when the build is unknown to the views).
_RELEASE_COLUMNS = (
    "SELECT r.*, (a.active_release_id = r.id) AS active, b.git_commit AS git_commit"
    " FROM {releases} r LEFT JOIN {apps} a ON a.name = r.app"
    " LEFT JOIN {builds} b ON b.id = r.build_id"
)
SELECT_RELEASE = _RELEASE_COLUMNS + " WHERE r.id = ?"
LIST_RELEASES = (
    _RELEASE_COLUMNS + " WHERE r.app = ? AND r.version < ? ORDER BY r.version DESC LIMIT ?"
)
SELECT_BUILD = "SELECT * FROM {builds} WHERE id = ?"
LIST_BUILDS = "SELECT * FROM {builds} WHERE app = ? AND position < ? ORDER BY position DESC LIMIT ?"
BUILDS_IN_FLIGHT = "SELECT * FROM {builds} WHERE status IN ('created', 'running') ORDER BY position"
SELECT_BUILD_LOG = "SELECT * FROM {build_logs} WHERE build_id = ? AND seq > ? ORDER BY seq LIMIT ?"
SELECT_PROMOTION = "SELECT * FROM {promotions} WHERE id = ?"
SELECT_STEPS = "SELECT * FROM {promotion_steps} WHERE promotion_id = ? ORDER BY position"
LIST_PROMOTIONS = (
    "SELECT * FROM {promotions} WHERE app = ? AND position < ? ORDER BY position DESC LIMIT ?"
)
PROMOTIONS_IN_FLIGHT = (
    "SELECT * FROM {promotions} WHERE status NOT IN ("
    + ", ".join(f"'{status}'" for status in TERMINAL_PROMOTION_STATUSES)
    + ") ORDER BY position"
)
QUEUED_PROMOTIONS = (
    "SELECT id FROM {promotions} WHERE status = 'pending' AND queued = 1 AND app = ?"
    " ORDER BY position"
)
ENV_HISTORY = (
    "SELECT * FROM {env_changes} WHERE app = ? AND env_version < ?"
    " ORDER BY env_version DESC LIMIT ?"
)
ACTIVATION_AT_POSITION = (
    "SELECT release_id FROM {activations} WHERE app = ? AND position <= ?"
    " ORDER BY position DESC LIMIT 1"
)
ACTIVATION_AT_TIME = (
    "SELECT release_id FROM {activations} WHERE app = ? AND time <= ?"
    " ORDER BY position DESC LIMIT 1"
)
ACTIVATIONS_UNTIL = (
    "SELECT * FROM {activations} WHERE app = ? AND position <= ? ORDER BY position DESC LIMIT ?"
)
ACTIVATION_AFTER = (
    "SELECT * FROM {activations} WHERE app = ? AND position > ? ORDER BY position LIMIT 1"
)
ENV_VERSION_AT = (
    "SELECT MAX(env_version) AS version FROM {env_changes} WHERE app = ? AND position <= ?"
)
RELEASES_UNTIL = (
    _RELEASE_COLUMNS + " WHERE r.app = ? AND r.position <= ? ORDER BY r.version DESC LIMIT ?"
)
RELEASE_COUNT_UNTIL = "SELECT COUNT(*) AS count FROM {releases} WHERE app = ? AND position <= ?"
LAST_POSITION_AT_TIME = "SELECT MAX(position) AS position FROM {events} WHERE time <= ?"
LIST_RACK_RELEASES = "SELECT * FROM {rack_releases} ORDER BY position DESC"
SELECT_KEY = "SELECT * FROM {keys} WHERE id = ?"
SELECT_KEY_BY_TOKEN = "SELECT * FROM {keys} WHERE token_hash = ?"
LIST_KEYS = "SELECT * FROM {keys} WHERE position > ? ORDER BY position LIMIT ?"
LIST_ACTIVE_KEYS = (
    "SELECT * FROM {keys} WHERE position > ? AND revoked_at IS NULL ORDER BY position LIMIT ?"
)
# Newest first, created before a position (0: the newest of all).
KEYS_BEFORE = "SELECT * FROM {keys} WHERE (? = 0 OR position < ?) ORDER BY position DESC LIMIT ?"
ACTIVE_KEYS_BEFORE = (
    "SELECT * FROM {keys} WHERE (? = 0 OR position < ?) AND revoked_at IS NULL"
    " ORDER BY position DESC LIMIT ?"
)
ACTIVE_ADMIN_KEYS = "SELECT id FROM {keys} WHERE role = 'admin' AND revoked_at IS NULL"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
BIG = 2**62  # "no upper bound" for keyset pagination on positions and versions

_TABLE_NAME = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Dialect:
    """How one database spells our statements: placeholders and qualified table names.

    ``table_prefix`` is prepended to each logical table name (``apps`` ->
    ``"public".ledger_view_apps`` on PostgreSQL). ``index_prefix`` keeps index names
    unique where they share a namespace with other tables.
    """

    name: str
    placeholder: str
    table_prefix: str
    index_prefix: str
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def sql(self, statement: str) -> str:
        """The statement ready to execute (memoised: statements are module constants)."""
        translated = self._cache.get(statement)
        if translated is None:
            translated = _TABLE_NAME.sub(self._name, statement)
            if self.placeholder != "?":
                translated = translated.replace("?", self.placeholder)
            self._cache[statement] = translated
        return translated

    def table(self, name: str) -> str:
        return self.table_prefix + name

    def _name(self, match: re.Match[str]) -> str:
        key = match.group(1)
        return self.index_prefix if key == "ix" else self.table(key)

    def schema(self) -> list[str]:
        return [self.sql(statement) for statement in SCHEMA]


SQLITE = Dialect("sqlite", "?", TABLE_PREFIX, TABLE_PREFIX)


def postgres_dialect(schema: str) -> Dialect:
    return Dialect("postgres", "%s", f"{quote_ident(schema)}.{TABLE_PREFIX}", TABLE_PREFIX)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def in_list(count: int) -> str:
    """``(?, ?, …)`` for an IN clause of ``count`` values (at least one)."""
    return "(" + ", ".join("?" * max(count, 1)) + ")"


def timestamp(value: datetime) -> int:
    """A time as stored: microseconds since 1970-01-01 UTC (naive times are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // MICROSECOND


def parse_timestamp(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def optional_timestamp(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)
