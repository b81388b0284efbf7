"""Workflows, their jobs (with their steps) and the webhook deliveries they accepted.

No view here shows a workflow's secret, its credentials or its review env values (the
read model holds none of them). Admission is the entry points': each view carries the
apps it concerns (``WorkflowView.apps``, ``JobView.apps``; deliveries come with their
workflow) for them to check the policy per app. The ``visible_*`` lists keep what a key
may read, as :meth:`~ledger.queries.apps.AppQueries.visible_apps` does for apps: a
workflow when the key may read one of its apps, a job when it may read one of its own
apps or of its workflow's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from ledger import policy
from ledger.errors import NotFound
from ledger.ids import JOB, check_id
from ledger.policy import Action, Principal
from ledger.queries.base import QueriesBase
from ledger.views import DeliveryView, JobView, WorkflowView
from ledger.workflows.settings import check_workflow_name

V = TypeVar("V", WorkflowView, JobView)
C = TypeVar("C", str, int)
SCAN = 200  # rows read per query while filtering a list for a key


@dataclass(frozen=True)
class Deliveries:
    """A page of the deliveries a workflow accepted, newest first, with the workflow (whose
    apps say who may read them)."""

    workflow: WorkflowView
    deliveries: list[DeliveryView]


class WorkflowQueries(QueriesBase):
    """Workflows as the API and the console list and show them."""

    def workflow(self, name: str, deleted_too: bool = False) -> WorkflowView:
        """The live workflow (or a deleted one too, marked so, when ``deleted_too``):
        INVALID_ARGUMENT for a malformed name, NOT_FOUND when unknown or deleted."""
        check_workflow_name(name)
        view = self.reader.get_workflow(name)
        if view is None or (view.deleted and not deleted_too):
            raise NotFound(f"workflow {name} not found")
        return view

    def workflows(self, after: str = "", limit: int = 50) -> list[WorkflowView]:
        """Live workflows by name, names greater than ``after``."""
        return self.reader.list_workflows(after, limit)

    def job(self, job_id: str) -> JobView:
        """The job with its steps: INVALID_ARGUMENT for a malformed id, else NOT_FOUND."""
        check_id(JOB, job_id)
        view = self.reader.get_job(job_id)
        if view is None:
            raise NotFound(f"job {job_id} not found")
        return view

    def jobs(self, workflow: str = "", before_position: int = 0, limit: int = 50) -> list[JobView]:
        """Newest first, of ``workflow`` (which must exist) or of all workflows, queued
        before ``before_position`` (0: no bound); without their steps."""
        if workflow:
            self.workflow(workflow)
        return self.reader.list_jobs(workflow, before_position, limit)

    def deliveries(self, workflow: str, before_position: int = 0, limit: int = 50) -> Deliveries:
        """The deliveries ``workflow`` (which must exist) accepted before
        ``before_position`` (0: no bound), newest first."""
        view = self.workflow(workflow)
        return Deliveries(view, self.reader.list_deliveries(workflow, before_position, limit))

    def visible_workflows(
        self, principal: Principal, after: str = "", limit: int = 50
    ) -> list[WorkflowView]:
        """The live workflows ``principal`` may read (one of their apps), by name."""
        if principal.all_apps:
            return self.workflows(after, limit)

        def fetch(cursor: str) -> list[WorkflowView]:
            return self.reader.list_workflows(cursor, SCAN)

        def keep(view: WorkflowView) -> bool:
            return _may_read(principal, view.apps)

        return _kept(fetch, lambda view: view.name, keep, after, limit)

    def visible_jobs(
        self, principal: Principal, workflow: str = "", before_position: int = 0, limit: int = 50
    ) -> list[JobView]:
        """:meth:`jobs`, keeping those ``principal`` may read."""
        if workflow:
            self.workflow(workflow)
        if principal.all_apps:
            return self.reader.list_jobs(workflow, before_position, limit)
        workflow_apps: dict[str, tuple[str, ...]] = {}

        def fetch(cursor: int) -> list[JobView]:
            return self.reader.list_jobs(workflow, cursor, SCAN)

        def keep(view: JobView) -> bool:
            if view.workflow not in workflow_apps:
                found = self.reader.get_workflow(view.workflow)
                workflow_apps[view.workflow] = found.apps if found else ()
            return _may_read(principal, (*view.apps, *workflow_apps[view.workflow]))

        return _kept(fetch, lambda view: view.position, keep, before_position, limit)

    def paused_apps(self, view: WorkflowView) -> list[tuple[str, str]]:
        """(app, reason) of the workflow's apps whose automatic promotion is paused."""
        apps = (self.reader.get_app(name) for name in view.apps)
        return [
            (app.name, app.auto_promotion_paused)
            for app in apps
            if app and app.auto_promotion_paused
        ]


def _may_read(principal: Principal, apps: Iterable[str]) -> bool:
    return any(policy.allows(principal, Action.READ, app) for app in apps)


def _kept(
    fetch: Callable[[C], list[V]],
    cursor_of: Callable[[V], C],
    keep: Callable[[V], bool],
    start: C,
    limit: int,
) -> list[V]:
    """At most ``limit`` views ``keep`` keeps, read page by page from ``start``."""
    kept: list[V] = []
    cursor = start
    while len(kept) < limit:
        page = fetch(cursor)
        kept.extend(view for view in page if keep(view))
        if len(page) < SCAN:
            break
        cursor = cursor_of(page[-1])
    return kept[:limit]
