"""The tables of workflows, jobs and webhook deliveries, and the statements that read them.

Part of :mod:`projections.sql` (which adds these tables, keys and schema statements to its
own; the same ``{table}`` and ``?`` conventions apply), kept apart so that each module
stays about one family of tables. The handlers that fill them are in
:mod:`projections.workflows`, the queries in :mod:`projections.workflow_queries`.

A handler sees one event, so a value the aggregate folds over several events is kept as
rows the events insert and update: a job's steps are rows of ``job_steps`` (keyed by the
step's index), and the workflows deploying an app are the log of their connections in
``app_workflows`` (the newest row of an app and workflow tells whether it is connected).
"""

from __future__ import annotations

from ledger.domain.job import JobStatus

TABLES = ("workflows", "jobs", "job_steps", "deliveries", "app_workflows")
LIVE_JOB_STATUSES = tuple(s.value for s in JobStatus if not s.ended)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS {workflows} (
        name TEXT PRIMARY KEY, repository TEXT NOT NULL, branch TEXT NOT NULL,
        apps TEXT NOT NULL, promote TEXT NOT NULL, before_promote TEXT NOT NULL,
        after_promote TEXT NOT NULL, review_apps INTEGER NOT NULL,
        review_env_keys TEXT NOT NULL, wait_for_ci INTEGER NOT NULL,
        poll_seconds INTEGER NOT NULL, allow_forks INTEGER NOT NULL,
        has_credentials INTEGER NOT NULL, actor TEXT NOT NULL, created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL, position BIGINT NOT NULL, deleted INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS {jobs} (
        id TEXT PRIMARY KEY, workflow TEXT NOT NULL, kind TEXT NOT NULL,
        status TEXT NOT NULL, apps TEXT NOT NULL, provider TEXT NOT NULL,
        delivery_id TEXT NOT NULL, ref TEXT NOT NULL, sha TEXT NOT NULL,
        pusher TEXT NOT NULL, pull_number INTEGER NOT NULL, message TEXT NOT NULL,
        rerun_of TEXT NOT NULL, cause TEXT NOT NULL, checks TEXT NOT NULL,
        actor TEXT NOT NULL, created_at BIGINT NOT NULL, position BIGINT NOT NULL,
        started_at BIGINT, ended_at BIGINT)""",
    "CREATE INDEX IF NOT EXISTS {ix}jobs_workflow_position ON {jobs} (workflow, position)",
    "CREATE INDEX IF NOT EXISTS {ix}jobs_status ON {jobs} (status)",
    "CREATE INDEX IF NOT EXISTS {ix}jobs_position ON {jobs} (position)",  # all jobs, newest first
    """CREATE TABLE IF NOT EXISTS {job_steps} (
        job_id TEXT NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, app TEXT NOT NULL,
        status TEXT NOT NULL, detail TEXT NOT NULL, build_id TEXT NOT NULL,
        release_id TEXT NOT NULL, promotion_id TEXT NOT NULL, PRIMARY KEY (job_id, idx))""",
    """CREATE TABLE IF NOT EXISTS {deliveries} (
        position BIGINT PRIMARY KEY, workflow TEXT NOT NULL, provider TEXT NOT NULL,
        delivery_id TEXT NOT NULL, event TEXT NOT NULL, kind TEXT NOT NULL,
        ref TEXT NOT NULL, sha TEXT NOT NULL, pusher TEXT NOT NULL, job_id TEXT NOT NULL,
        outcome TEXT NOT NULL, time BIGINT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS {ix}deliveries_workflow_position"
    " ON {deliveries} (workflow, position)",
    # An app's workflows, as the log of their connections (connected 1) and
    # disconnections (0): the newest row of each (app, workflow) says whether it deploys it.
    """CREATE TABLE IF NOT EXISTS {app_workflows} (
        position BIGINT PRIMARY KEY, app TEXT NOT NULL, workflow TEXT NOT NULL,
        connected INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS {ix}app_workflows_app ON {app_workflows} (app, workflow)",
)

KEYS: dict[str, tuple[str, ...]] = {
    "workflows": ("name",),
    "jobs": ("id",),
    "job_steps": ("job_id", "idx"),
    "deliveries": ("position",),
    "app_workflows": ("position",),
}
INSERT_ONLY = frozenset({"deliveries", "app_workflows"})

# -- reads ---------------------------------------------------------------------------------

# The workflows of apps (an IN list of names is appended): the connections that no later
# row of the same (app, workflow) undid.
APP_WORKFLOWS = (
    "SELECT l.app, l.workflow FROM {app_workflows} l WHERE l.connected = 1"
    " AND NOT EXISTS (SELECT 1 FROM {app_workflows} n WHERE n.app = l.app"
    " AND n.workflow = l.workflow AND n.position > l.position) AND l.app IN "
)
SELECT_WORKFLOW = "SELECT * FROM {workflows} WHERE name = ?"
LIST_WORKFLOWS = "SELECT * FROM {workflows} WHERE deleted = 0 AND name > ? ORDER BY name LIMIT ?"
SELECT_JOB = "SELECT * FROM {jobs} WHERE id = ?"
SELECT_JOB_STEPS = "SELECT * FROM {job_steps} WHERE job_id = ? ORDER BY idx"
LIST_JOBS = "SELECT * FROM {jobs} WHERE position < ? ORDER BY position DESC LIMIT ?"
LIST_WORKFLOW_JOBS = (
    "SELECT * FROM {jobs} WHERE workflow = ? AND position < ? ORDER BY position DESC LIMIT ?"
)
JOBS_IN_FLIGHT = (
    "SELECT * FROM {jobs} WHERE status IN ("
    + ", ".join(f"'{status}'" for status in LIVE_JOB_STATUSES)
    + ") ORDER BY position"
)
LIST_DELIVERIES = (
    "SELECT * FROM {deliveries} WHERE workflow = ? AND position < ? ORDER BY position DESC LIMIT ?"
)
