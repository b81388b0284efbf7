"""Apps: one app with what is in flight, the apps a key may list, the rack's versions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ledger.policy import Principal
from ledger.queries.app_status import AppStatus, app_status, settled
from ledger.queries.base import QueriesBase
from ledger.queries.release_facts import ReleaseIdentity, what_it_is
from ledger.views import AppView, PromotionView, RackReleaseView, ReleaseView

RECENT_PROMOTIONS = 20  # queued promotions stand before the last settled one


@dataclass(frozen=True)
class AppSummary:
    """An app with the promotion in flight, those queued behind it and (when asked for)
    its active release, the release being rolled out and the last settled promotion."""

    app: AppView
    promotion: PromotionView | None
    queued: tuple[str, ...]
    active: ReleaseView | None = None
    target: ReleaseView | None = None  # the release the promotion in flight promotes
    last: PromotionView | None = None  # the last promotion that settled
    identity: ReleaseIdentity | None = None  # what the active release is

    @property
    def status(self) -> AppStatus:
        """The app's state in one phrase (:func:`~ledger.queries.app_status.app_status`)."""
        return app_status(self.app, self.active, self.promotion, self.target, self.last)


class AppQueries(QueriesBase):
    """Apps as the API's GetApp/ListApps and the console's headers and lists see them."""

    def app_summary(self, name: str, *, with_active: bool = False) -> AppSummary:
        return self.summarise(self.app(name), with_active=with_active)

    def summarise(self, view: AppView, *, with_active: bool = False) -> AppSummary:
        reader = self.reader
        in_flight = view.promotion_id
        promotion = reader.get_promotion(in_flight) if in_flight else None
        queued = tuple(reader.queued_promotions(view.name)) if in_flight else ()
        if not with_active:
            return AppSummary(view, promotion, queued)
        active = reader.get_release(view.active_release_id) if view.active_release_id else None
        target = reader.get_release(promotion.release_id) if promotion else None
        last = self.last_settled(view.name)
        return AppSummary(view, promotion, queued, active, target, last, self.identity(active))

    def identity(self, release: ReleaseView | None) -> ReleaseIdentity | None:
        """What ``release`` is (None for none), with the version a rollback returns to."""
        if release is None:
            return None
        parent = self.reader.get_release(release.parent_id) if release.parent_id else None
        return what_it_is(release, parent.version if parent else 0)

    def last_settled(self, app: str) -> PromotionView | None:
        """The app's newest promotion that has an outcome (None before any)."""
        recent = self.reader.list_promotions(app, 0, RECENT_PROMOTIONS)
        return next((promotion for promotion in recent if settled(promotion)), None)

    def visible_apps(self, principal: Principal, after: str = "", limit: int = 50) -> list[AppView]:
        """The apps ``principal`` may read, by name after ``after``, at most ``limit``: every
        app for keys of every app, else the existing ones among its own."""
        if principal.all_apps:
            return self.reader.list_apps(after, limit)
        found: list[AppView] = []
        for name in sorted(principal.apps):
            view = self.reader.get_app(name) if name > after else None
            if view is not None:
                found.append(view)
                if len(found) == limit:
                    break
        return found

    def rack_releases(self) -> list[RackReleaseView]:
        """The versions ``ledgerd`` ran on this ledger, newest first, each until the next
        start of another version (a return to an earlier version is a row of its own)."""
        found = self.reader.rack_releases()
        newer = [None, *(release.started_at for release in found)]
        return [replace(release, until=until) for release, until in zip(found, newer, strict=False)]
