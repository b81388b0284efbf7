"""Read models fed by the event log with tracking: exactly once, rebuildable from zero.

The composition root calls::

    views = open_views(views_env(ledger_env))           # a ReadModel (LedgerViews)
    worker = ProjectionWorker(ledger_app, views, listeners=[...])
    worker.start()                                      # views.wait_for now uses it
    ...                                                 # after each command: worker.notify()
    worker.stop(); views.close()

``rebuild(ledger_app, views)`` empties the views and projects the log again from 0.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, cast

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment

from ledger.domain.secrecy import Mask
from projections import sql
from projections.databases import PostgresLedgerViews, SQLiteLedgerViews
from projections.env import POPO, SQLITE, postgres_env, sqlite_env, views_env
from projections.rebuild import REBUILD_PAGE
from projections.rebuild import rebuild as rebuild_views
from projections.store import LedgerViews
from projections.worker import ProjectionWorker

# Env prefix and PostgreSQL tracking table prefix; versioned with the tables.
VIEWS_NAME = f"LedgerViewsV{sql.SCHEMA_VERSION}"

__all__ = [
    "VIEWS_NAME",
    "LedgerViews",
    "ProjectionWorker",
    "open_views",
    "postgres_env",
    "rebuild",
    "sqlite_env",
    "views_env",
]


def open_views(
    env: Mapping[str, str],
    upstream: str = "Ledger",
    mask: Mask | None = None,
    *,
    repair: bool = True,
) -> LedgerViews:
    """Construct the views the library's way (tables created if missing).

    ``env`` is an eventsourcing env (see :func:`views_env`); keys may be prefixed with
    ``LEDGERVIEWS_``. ``upstream`` is the name of the application whose log is projected.
    ``repair``: empty views that lack the Merkle tree, for the worker to project again
    (not for a reader beside a running ``ledgerd``, such as a scrub).
    """
    settings = dict(env)
    if settings.get("PERSISTENCE_MODULE", POPO) == POPO:
        memory = f"file:ledger-views-{uuid.uuid4().hex}?mode=memory&cache=shared"
        settings = {"PERSISTENCE_MODULE": SQLITE, "SQLITE_DBNAME": memory}
    settings[f"{VIEWS_NAME.upper()}_SINGLE_ROW_TRACKING"] = "t"  # batches record their max
    factory: Any = InfrastructureFactory.construct(Environment(VIEWS_NAME, settings))
    views: LedgerViews
    if isinstance(factory, SQLiteFactory):
        views = cast(SQLiteLedgerViews, factory.tracking_recorder(SQLiteLedgerViews))
    elif isinstance(factory, PostgresFactory):
        views = factory.tracking_recorder(PostgresLedgerViews)
    else:
        raise ValueError(f"no views for persistence module {settings['PERSISTENCE_MODULE']}")
    views.upstream = upstream
    if repair and views.tree_is_missing():
        # Made before the views kept the log's Merkle tree: project everything again.
        logging.getLogger(__name__).warning("the views lack the Merkle tree: rebuilding them")
        views.reset()
    if mask is not None:
        views.mask = mask
    return views


def rebuild(
    ledger_app: Application[Any], views: LedgerViews, batch_size: int = REBUILD_PAGE
) -> int:
    """Empty the views and project the whole log again, ``batch_size`` events per
    transaction; return the events applied (see :mod:`projections.rebuild`).

    Stop the worker of these views first (or accept that its listeners see old events
    again): the result is the same rows as the live projection.
    """
    return rebuild_views(ledger_app, views, batch_size)
