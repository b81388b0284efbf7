"""The read side: every question the entry points ask, answered once, for all of them.

The gRPC servicers, the web console and any later entry point only translate requests
and responses; what a query means lives here. Each query applies the belongs-to-app rule
(:mod:`ledger.ownership`) and, where env values could be shown, the reveal rule
(:meth:`~ledger.queries.base.QueriesBase.revealing`) itself, so no entry point can forget
them. Queries block (they read SQLite or PostgreSQL, or ask the runtime): entry points
run them off their event loop.

One part per family, as the API's servicer is assembled:

- :mod:`~ledger.queries.apps`: apps and what is in flight, the apps a key may list;
- :mod:`~ledger.queries.releases`: releases, their env, diffs, the active release as of;
- :mod:`~ledger.queries.env`: the env head, its history, what an edit would change;
- :mod:`~ledger.queries.activity`: builds with their logs, promotions with their steps;
- :mod:`~ledger.queries.history`: the audit timeline;
- :mod:`~ledger.queries.actions`: the timeline as user actions (the grouping rule);
- :mod:`~ledger.queries.time_travel`: what was live at a moment or a log position;
- :mod:`~ledger.queries.keys`: deploy keys;
- :mod:`~ledger.queries.workflows`: workflows, their jobs and the deliveries they accepted;
- :mod:`~ledger.queries.tasks`: where an app's tasks run (asked of the runtime, live);
- :mod:`~ledger.queries.deploy_metrics`: the DORA metrics (arithmetic in
  :mod:`~ledger.queries.dora`).
"""

from ledger.queries.actions import Action
from ledger.queries.activity import ActivityQueries, BuildLog
from ledger.queries.apps import AppQueries, AppSummary
from ledger.queries.deploy_metrics import DeployMetricQueries
from ledger.queries.env import EnvPreview, EnvQueries, EnvState
from ledger.queries.history import ActionPage, EventPage, EventQuery, HistoryQueries
from ledger.queries.keys import KeyQueries
from ledger.queries.releases import Comparison, Picked, ReleaseDetail, ReleaseQueries
from ledger.queries.tasks import TaskQueries
from ledger.queries.time_travel import AppAt, TimeTravelQueries
from ledger.queries.workflows import Deliveries, WorkflowQueries


class Queries(
    DeployMetricQueries,  # derives from AppQueries (the apps a key may read)
    AppQueries,
    ReleaseQueries,
    EnvQueries,
    ActivityQueries,
    HistoryQueries,
    TimeTravelQueries,
    KeyQueries,
    WorkflowQueries,
    TaskQueries,
):
    """Every query of the read side (see the module docstring)."""


__all__ = [
    "Action",
    "ActionPage",
    "AppAt",
    "AppSummary",
    "BuildLog",
    "Comparison",
    "Deliveries",
    "EnvPreview",
    "EnvState",
    "EventPage",
    "EventQuery",
    "Picked",
    "Queries",
    "ReleaseDetail",
]
