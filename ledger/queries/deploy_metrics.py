"""Deploy metrics (DORA) of an app, or of every app a key may read.

Reads the promotions read model newest first, a page at a time, joined with the releases
and builds they name (one read per page: ``ReadModel.list_deployments``), turns them into
:class:`~ledger.queries.dora.Deployment` records, and leaves the arithmetic to
:mod:`ledger.queries.dora`. Nothing here scans the log: the promotions view has each
promotion's status and times, the releases view the reason of a release (a rollback or
not), the builds view its creation and provenance.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ledger.domain.release import ReleaseReason
from ledger.policy import Principal
from ledger.queries.apps import AppQueries
from ledger.queries.dora import (
    ENDED,
    ROLLBACK_WINDOW,
    SUCCEEDED,
    Deployment,
    Metrics,
    Period,
    compute,
    window,
)
from ledger.views import DeploymentView

PAGE = 200
APPS_PAGE = 200


class DeployMetricQueries(AppQueries):
    """The four DORA metrics, per app or overall, over a window cut into periods."""

    def deploy_metrics(
        self,
        principal: Principal,
        app: str = "",
        *,
        period: str = Period.DAY,
        days: int = 0,
        until: datetime | None = None,
    ) -> Metrics:
        """The metrics of ``app`` (''; every app ``principal`` may read) over the last
        ``days`` days before ``until`` (None: now), cut by ``period``."""
        end = until or datetime.now(UTC)
        start = window(period, days, end).start  # a bad period or window: refused here
        names = [self.app(app).name] if app else self._readable(principal)
        records: list[Deployment] = []
        for name in names:
            records += self._records(name, start, days, period, end)
        first = min((r.requested_at for r in records), default=None)
        measured = compute(records, window(period, days, end, first), ROLLBACK_WINDOW)
        return replace(measured, apps=tuple(names))

    def _readable(self, principal: Principal) -> list[str]:
        names: list[str] = []
        while True:
            page = self.visible_apps(principal, names[-1] if names else "", APPS_PAGE)
            names += [view.name for view in page]
            if len(page) < APPS_PAGE:
                return names

    def _records(
        self, app: str, start: datetime, days: int, period: str, end: datetime
    ) -> list[Deployment]:
        """The app's ended promotions, newest first, back to what the rules need: past the
        window's start to the success before it (an incident open across the start), and
        to the creation of every release that went live in the window (its first
        activation). All time when the window is all time."""
        all_time = not days and period == Period.ALL
        bound = start
        found: list[Deployment] = []
        before = 0
        while True:
            page = self.reader.list_deployments(app, before, PAGE)
            for view in page:
                promotion = view.promotion
                if not all_time and promotion.created_at < bound and promotion.status == SUCCEEDED:
                    return found
                record = _record(view)
                if record is None or record.ended_at >= end:
                    continue
                found.append(record)
                if record.status == SUCCEEDED and record.ended_at >= start:
                    bound = min(bound, view.release_created_at or bound)
            if len(page) < PAGE:
                return found
            before = page[-1].promotion.position


def _record(view: DeploymentView) -> Deployment | None:
    """The promotion as the metrics see it; None while it has not ended."""
    promotion = view.promotion
    if promotion.status not in ENDED or promotion.ended_at is None:
        return None
    change_at, base = None, ""
    if view.release_reason == ReleaseReason.BUILD:
        change_at, base = _change(view)
    return Deployment(
        app=promotion.app,
        promotion_id=promotion.id,
        release_id=promotion.release_id,
        previous_release_id=promotion.previous_release_id,
        status=promotion.status,
        requested_at=promotion.created_at,
        started_at=promotion.started_at,
        ended_at=promotion.ended_at,
        rollback=view.release_reason == ReleaseReason.ROLLBACK,
        change_at=change_at,
        change_base=base,
    )


def _change(view: DeploymentView) -> tuple[datetime | None, str]:
    """When the change of a build's release began: the commit's time when the build's
    provenance carries one (``committed_at``, with an offset), else the build's creation
    (None when the views know no build)."""
    committed = view.commit.get("committed_at", "")
    if committed:
        try:
            moment: datetime | None = datetime.fromisoformat(committed)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment, "commit"
    if view.build_created_at is None:
        return None, ""
    return view.build_created_at, "build"
