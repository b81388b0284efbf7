"""The read model's queries of workflows, jobs and deliveries, and the workflows of apps.

A mixin of :class:`~projections.queries.ReadQueries` (which supplies the transactions),
over the tables of :mod:`projections.workflow_sql` (filled by
:mod:`projections.workflows`), and the functions that turn their rows into views.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ledger.views import DeliveryView, JobStepView, JobView, WorkflowView
from projections import sql, workflow_sql


class WorkflowReadQueries(ABC):
    """Workflows (``list_workflows`` leaves the deleted out), jobs, deliveries."""

    dialect: sql.Dialect

    @abstractmethod
    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        """A cursor inside one database transaction (committed only if ``commit``)."""

    @abstractmethod
    def _rows(self, statement: str, *params: object) -> list[Any]:
        """The rows of one statement, read in a transaction of its own."""

    def _row(self, statement: str, *params: object) -> Any:
        found = self._rows(statement, *params)
        return found[0] if found else None

    def _workflows_of(self, cursor: Any, apps: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """The workflows deploying each of ``apps`` (sorted; apps without any are left out),
        read with ``cursor`` so that they come from the apps' snapshot."""
        if not apps:
            return {}
        statement = workflow_sql.APP_WORKFLOWS + sql.in_list(len(apps))
        cursor.execute(self.dialect.sql(statement), tuple(apps))
        found: dict[str, list[str]] = {}
        for row in cursor.fetchall():
            found.setdefault(row["app"], []).append(row["workflow"])
        return {app: tuple(sorted(workflows)) for app, workflows in found.items()}

    def get_workflow(self, name: str) -> WorkflowView | None:
        """A workflow (deleted ones too, marked ``deleted``)."""
        row = self._row(workflow_sql.SELECT_WORKFLOW, name)
        return None if row is None else workflow_view(row)

    def list_workflows(self, after: str = "", limit: int = 50) -> list[WorkflowView]:
        """Live workflows by name, after ``after``."""
        return [workflow_view(row) for row in self._rows(workflow_sql.LIST_WORKFLOWS, after, limit)]

    def get_job(self, job_id: str) -> JobView | None:
        """A job with its steps, in the order they started."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(self.dialect.sql(workflow_sql.SELECT_JOB), (job_id,))
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute(self.dialect.sql(workflow_sql.SELECT_JOB_STEPS), (job_id,))
            steps = tuple(job_step_view(step) for step in cursor.fetchall())
        return job_view(row, steps)

    def list_jobs(
        self, workflow: str = "", before_position: int = 0, limit: int = 50
    ) -> list[JobView]:
        """Newest first (of one workflow, or all), queued before ``before_position`` (0: no
        bound); steps not included."""
        before = before_position or sql.BIG
        if workflow:
            found = self._rows(workflow_sql.LIST_WORKFLOW_JOBS, workflow, before, limit)
        else:
            found = self._rows(workflow_sql.LIST_JOBS, before, limit)
        return [job_view(row) for row in found]

    def jobs_in_flight(self) -> list[JobView]:
        """Jobs not ended (queued, running, waiting), oldest first; steps not included."""
        return [job_view(row) for row in self._rows(workflow_sql.JOBS_IN_FLIGHT)]

    def list_deliveries(
        self, workflow: str, before_position: int = 0, limit: int = 50
    ) -> list[DeliveryView]:
        """Deliveries a workflow accepted, newest first."""
        found = self._rows(
            workflow_sql.LIST_DELIVERIES, workflow, before_position or sql.BIG, limit
        )
        return [delivery_view(row) for row in found]


# -- rows to views ---------------------------------------------------------------------------


def workflow_view(row: Any) -> WorkflowView:
    return WorkflowView(
        name=row["name"],
        repository=row["repository"],
        branch=row["branch"],
        apps=tuple(json.loads(row["apps"])),
        promote=row["promote"],
        before_promote=tuple(json.loads(row["before_promote"])),
        after_promote=tuple(json.loads(row["after_promote"])),
        review_apps=bool(row["review_apps"]),
        review_env_keys=tuple(json.loads(row["review_env_keys"])),
        wait_for_ci=bool(row["wait_for_ci"]),
        poll_seconds=row["poll_seconds"],
        allow_forks=bool(row["allow_forks"]),
        has_credentials=bool(row["has_credentials"]),
        actor=row["actor"],
        created_at=sql.parse_timestamp(row["created_at"]),
        updated_at=sql.parse_timestamp(row["updated_at"]),
        position=row["position"],
        deleted=bool(row["deleted"]),
    )


def job_step_view(row: Any) -> JobStepView:
    return JobStepView(
        name=row["name"],
        app=row["app"],
        status=row["status"],
        detail=row["detail"],
        build_id=row["build_id"],
        release_id=row["release_id"],
        promotion_id=row["promotion_id"],
    )


def job_view(row: Any, steps: tuple[JobStepView, ...] = ()) -> JobView:
    return JobView(
        id=row["id"],
        workflow=row["workflow"],
        kind=row["kind"],
        status=row["status"],
        apps=tuple(json.loads(row["apps"])),
        provider=row["provider"],
        delivery_id=row["delivery_id"],
        ref=row["ref"],
        sha=row["sha"],
        pusher=row["pusher"],
        pull_number=row["pull_number"],
        message=row["message"],
        rerun_of=row["rerun_of"],
        cause=row["cause"],
        checks=row["checks"],
        actor=row["actor"],
        created_at=sql.parse_timestamp(row["created_at"]),
        position=row["position"],
        started_at=sql.optional_timestamp(row["started_at"]),
        ended_at=sql.optional_timestamp(row["ended_at"]),
        steps=steps,
    )


def delivery_view(row: Any) -> DeliveryView:
    return DeliveryView(
        position=row["position"],
        workflow=row["workflow"],
        provider=row["provider"],
        delivery_id=row["delivery_id"],
        event=row["event"],
        kind=row["kind"],
        ref=row["ref"],
        sha=row["sha"],
        pusher=row["pusher"],
        job_id=row["job_id"],
        outcome=row["outcome"],
        time=sql.parse_timestamp(row["time"]),
    )
