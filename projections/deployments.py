"""The promotions of an app joined with their releases and builds, for deploy metrics.

One statement per page instead of a read of the release and of the build per promotion:
the metrics read every promotion of a window (see :mod:`ledger.queries.deploy_metrics`).
"""

from __future__ import annotations

from typing import Any

from ledger.views import DeploymentView
from projections import rows, sql

LIST_DEPLOYMENTS = (
    "SELECT p.*, r.reason AS release_reason, r.created_at AS release_created_at,"
    " b.created_at AS build_created_at, b.git_commit AS build_commit"
    " FROM {promotions} p LEFT JOIN {releases} r ON r.id = p.release_id"
    " LEFT JOIN {builds} b ON b.id = r.build_id"
    " WHERE p.app = ? AND p.position < ? ORDER BY p.position DESC LIMIT ?"
)


def deployment(row: Any) -> DeploymentView:
    return DeploymentView(
        promotion=rows.promotion(row),
        release_reason=row["release_reason"] or "",
        release_created_at=sql.optional_timestamp(row["release_created_at"]),
        build_created_at=sql.optional_timestamp(row["build_created_at"]),
        commit=rows.commit(row["build_commit"]),
    )
