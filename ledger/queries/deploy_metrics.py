"""Deploy metrics (DORA) of an app, or of every app a key may read.

Reads the promotions read model (newest first, a page at a time) with the releases and
builds they name, turns them into :class:`~ledger.queries.dora.Deployment` records, and
leaves the arithmetic to :mod:`ledger.queries.dora`. Nothing here scans the log: the
promotions view already has each promotion's status and times, the releases view the
reason of a release (a rollback or not), the builds view its creation and provenance.
"""

from __future__ import annotations

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
from ledger.views import BuildView, PromotionView, ReleaseView

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
        return compute(records, window(period, days, end, first), ROLLBACK_WINDOW)

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
        releases: dict[str, ReleaseView | None] = {}
        builds: dict[str, BuildView | None] = {}
        found: list[Deployment] = []
        before = 0
        while True:
            page = self.reader.list_promotions(app, before, PAGE)
            for view in page:
                if not all_time and view.created_at < bound and view.status == SUCCEEDED:
                    return found
                record = self._record(view, releases, builds)
                if record is not None and record.ended_at < end:
                    found.append(record)
                    if record.status == SUCCEEDED and record.ended_at >= start:
                        release = releases.get(record.release_id)
                        if release is not None:
                            bound = min(bound, release.created_at)
            if len(page) < PAGE:
                return found
            before = page[-1].position

    def _record(
        self,
        view: PromotionView,
        releases: dict[str, ReleaseView | None],
        builds: dict[str, BuildView | None],
    ) -> Deployment | None:
        if view.status not in ENDED or view.ended_at is None:
            return None
        if view.release_id not in releases:
            releases[view.release_id] = self.reader.get_release(view.release_id)
        release = releases[view.release_id]
        change_at, base = None, ""
        if release is not None and release.reason == ReleaseReason.BUILD:
            if release.build_id not in builds:
                builds[release.build_id] = self.reader.get_build(release.build_id)
            change_at, base = _change(release, builds[release.build_id])
        return Deployment(
            app=view.app,
            promotion_id=view.id,
            release_id=view.release_id,
            previous_release_id=view.previous_release_id,
            status=view.status,
            requested_at=view.created_at,
            started_at=view.started_at,
            ended_at=view.ended_at,
            rollback=release is not None and release.reason == ReleaseReason.ROLLBACK,
            change_at=change_at,
            change_base=base,
        )


def _change(release: ReleaseView, build: BuildView | None) -> tuple[datetime, str]:
    """When the change of a build's release began: the commit's time when the build's
    provenance carries one (``committed_at``), else the build's creation."""
    committed = (build.commit if build is not None else {}).get("committed_at", "")
    if committed:
        try:
            moment = datetime.fromisoformat(committed)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment, "commit"
    created = build.created_at if build is not None else release.created_at
    return created, "build"
