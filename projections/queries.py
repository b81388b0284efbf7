"""The queries of :class:`ledger.read_model.ReadModel` over the projection tables.

Written once for both databases (see :mod:`projections.sql`); each query runs in one
read transaction, so a promotion and its steps, for instance, come from one snapshot.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from ledger.views import (
    ActivationView,
    AppView,
    BuildLogView,
    BuildView,
    DeploymentView,
    EnvChangeView,
    EventView,
    KeyView,
    PromotionView,
    RackReleaseView,
    ReleaseView,
)
from projections import rows, sql
from projections.deployments import LIST_DEPLOYMENTS, deployment
from projections.keys import key_view
from projections.metric_queries import MetricQueries
from projections.notifications import NotificationQueries
from projections.workflow_queries import WorkflowReadQueries


class ReadQueries(WorkflowReadQueries, MetricQueries, NotificationQueries, ABC):
    """The read model's queries; the store supplies transactions, dialect and position.

    Those of workflows, jobs and deliveries are in :class:`WorkflowReadQueries`; the
    totals ``/metrics`` reports in :class:`MetricQueries`.
    """

    dialect: sql.Dialect

    @abstractmethod
    def _transaction(self, *, commit: bool) -> AbstractContextManager[Any]:
        """A cursor inside one database transaction (committed only if ``commit``)."""

    @abstractmethod
    def position(self) -> int:
        """The last log position the projections have processed."""

    def _rows(self, statement: str, *params: object) -> list[Any]:
        with self._transaction(commit=False) as cursor:
            cursor.execute(self.dialect.sql(statement), params)
            return list(cursor.fetchall())

    def get_app(self, name: str) -> AppView | None:
        found = self._apps(sql.SELECT_APP, name)
        return found[0] if found else None

    def list_apps(self, after: str = "", limit: int = 50) -> list[AppView]:
        return self._apps(sql.LIST_APPS, after, limit)

    def _apps(self, statement: str, *params: object) -> list[AppView]:
        """The apps a statement selects, with their workflows (from one snapshot)."""
        with self._transaction(commit=False) as cursor:
            cursor.execute(self.dialect.sql(statement), params)
            found = list(cursor.fetchall())
            workflows = self._workflows_of(cursor, [row["name"] for row in found])
        return [rows.app(row, workflows.get(row["name"], ())) for row in found]

    def get_release(self, release_id: str) -> ReleaseView | None:
        row = self._row(sql.SELECT_RELEASE, release_id)
        return None if row is None else rows.release(row)

    def list_releases(
        self, app: str, before_version: int = 0, limit: int = 50
    ) -> list[ReleaseView]:
        found = self._rows(sql.LIST_RELEASES, app, before_version or sql.BIG, limit)
        return [rows.release(row) for row in found]

    def get_build(self, build_id: str) -> BuildView | None:
        row = self._row(sql.SELECT_BUILD, build_id)
        return None if row is None else rows.build(row)

    def list_builds(self, app: str, before_position: int = 0, limit: int = 50) -> list[BuildView]:
        found = self._rows(sql.LIST_BUILDS, app, before_position or sql.BIG, limit)
        return [rows.build(row) for row in found]

    def builds_in_flight(self) -> list[BuildView]:
        return [rows.build(row) for row in self._rows(sql.BUILDS_IN_FLIGHT)]

    def build_log(self, build_id: str, after_seq: int = 0, limit: int = 100) -> list[BuildLogView]:
        found = self._rows(sql.SELECT_BUILD_LOG, build_id, after_seq, limit)
        return [rows.build_log(row) for row in found]

    def get_promotion(self, promotion_id: str) -> PromotionView | None:
        with self._transaction(commit=False) as cursor:
            cursor.execute(self.dialect.sql(sql.SELECT_PROMOTION), (promotion_id,))
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute(self.dialect.sql(sql.SELECT_STEPS), (promotion_id,))
            steps = tuple(rows.step(step) for step in cursor.fetchall())
        return rows.promotion(row, steps)

    def list_promotions(
        self, app: str, before_position: int = 0, limit: int = 50
    ) -> list[PromotionView]:
        found = self._rows(sql.LIST_PROMOTIONS, app, before_position or sql.BIG, limit)
        return [rows.promotion(row) for row in found]

    def list_deployments(
        self, app: str, before_position: int = 0, limit: int = 200
    ) -> list[DeploymentView]:
        found = self._rows(LIST_DEPLOYMENTS, app, before_position or sql.BIG, limit)
        return [deployment(row) for row in found]

    def promotions_in_flight(self) -> list[PromotionView]:
        return [rows.promotion(row) for row in self._rows(sql.PROMOTIONS_IN_FLIGHT)]

    def queued_promotions(self, app: str) -> list[str]:
        return [row["id"] for row in self._rows(sql.QUEUED_PROMOTIONS, app)]

    def env_history(
        self, app: str, before_version: int = 0, limit: int = 50
    ) -> list[EnvChangeView]:
        found = self._rows(sql.ENV_HISTORY, app, before_version or sql.BIG, limit)
        return [rows.env_change(row) for row in found]

    def list_events(
        self,
        *,
        app: str = "",
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        after_position: int = 0,
        before_position: int = 0,
        newest_first: bool = False,
        limit: int = 100,
    ) -> list[EventView]:
        """Oldest first unless ``newest_first``; ``since`` is inclusive, ``until`` exclusive."""
        where: list[str] = ["position > ?"]
        params: list[object] = [after_position]
        if before_position:
            where.append("position < ?")
            params.append(before_position)
        if app:
            where.append("app = ?")
            params.append(app)
        if types:
            where.append("type IN " + sql.in_list(len(types)))
            params.extend(types)
        if since is not None:
            where.append("time >= ?")
            params.append(sql.timestamp(since))
        if until is not None:
            where.append("time < ?")
            params.append(sql.timestamp(until))
        statement = "SELECT * FROM {events} WHERE " + " AND ".join(where)
        order = " ORDER BY position DESC" if newest_first else " ORDER BY position"
        found = self._rows(statement + order + " LIMIT ?", *params, limit)
        return [rows.event(row) for row in found]

    def active_release_as_of(
        self, app: str, *, position: int = 0, time: datetime | None = None
    ) -> tuple[str, int]:
        if time is not None:
            at = sql.timestamp(time)
            with self._transaction(commit=False) as cursor:
                cursor.execute(self.dialect.sql(sql.LAST_POSITION_AT_TIME), (at,))
                last = cursor.fetchone()
                cursor.execute(self.dialect.sql(sql.ACTIVATION_AT_TIME), (app, at))
                found = cursor.fetchone()
            answered_at = int((last["position"] if last else None) or 0)
        else:
            head = self.position()
            answered_at = min(position, head) if position else head
            found = self._row(sql.ACTIVATION_AT_POSITION, app, answered_at)
        return (found["release_id"] if found else ""), answered_at

    def activations_until(self, app: str, position: int, limit: int = 2) -> list[ActivationView]:
        found = self._rows(sql.ACTIVATIONS_UNTIL, app, position, limit)
        return [rows.activation(row) for row in found]

    def activation_after(self, app: str, position: int) -> ActivationView | None:
        row = self._row(sql.ACTIVATION_AFTER, app, position)
        return None if row is None else rows.activation(row)

    def env_version_at(self, app: str, position: int) -> int:
        row = self._row(sql.ENV_VERSION_AT, app, position)
        return int((row["version"] if row else None) or 0)

    def releases_until(
        self, app: str, position: int, limit: int = 50
    ) -> tuple[list[ReleaseView], int]:
        with self._transaction(commit=False) as cursor:
            cursor.execute(self.dialect.sql(sql.RELEASES_UNTIL), (app, position, limit))
            found = [rows.release(row) for row in cursor.fetchall()]
            cursor.execute(self.dialect.sql(sql.RELEASE_COUNT_UNTIL), (app, position))
            count = cursor.fetchone()
        return found, int(count["count"] if count else 0)

    def rack_releases(self) -> list[RackReleaseView]:
        """Newest first."""
        return [rows.rack_release(row) for row in self._rows(sql.LIST_RACK_RELEASES)]

    # -- deploy keys ------------------------------------------------------------------

    def get_key(self, key_id: str) -> KeyView | None:
        row = self._row(sql.SELECT_KEY, key_id)
        return None if row is None else key_view(row)

    def key_by_token_hash(self, token_hash: str) -> KeyView | None:
        """The key (revoked or not) whose token has this SHA-256, if any."""
        row = self._row(sql.SELECT_KEY_BY_TOKEN, token_hash)
        return None if row is None else key_view(row)

    def list_keys(
        self, after_position: int = 0, limit: int = 50, include_revoked: bool = False
    ) -> list[KeyView]:
        """Oldest first; keys created after ``after_position``."""
        statement = sql.LIST_KEYS if include_revoked else sql.LIST_ACTIVE_KEYS
        return [key_view(row) for row in self._rows(statement, after_position, limit)]

    def newest_keys(
        self, before_position: int = 0, limit: int = 50, include_revoked: bool = False
    ) -> list[KeyView]:
        """Newest first; keys created before ``before_position`` (0: no bound)."""
        statement = sql.KEYS_BEFORE if include_revoked else sql.ACTIVE_KEYS_BEFORE
        rows = self._rows(statement, before_position, before_position, limit)
        return [key_view(row) for row in rows]

    def active_admin_ids(self) -> list[str]:
        return [row["id"] for row in self._rows(sql.ACTIVE_ADMIN_KEYS)]
