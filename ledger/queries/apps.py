"""Apps: one app with what is in flight, the apps a key may list, the rack's versions."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ledger.policy import Principal
from ledger.queries.base import QueriesBase
from ledger.views import AppView, PromotionView, RackReleaseView, ReleaseView


@dataclass(frozen=True)
class AppSummary:
    """An app with the promotion in flight, those queued behind it and (when asked for)
    its active release."""

    app: AppView
    promotion: PromotionView | None
    queued: tuple[str, ...]
    active: ReleaseView | None = None


class AppQueries(QueriesBase):
    """Apps as the API's GetApp/ListApps and the console's headers and lists see them."""

    def app_summary(self, name: str, *, with_active: bool = False) -> AppSummary:
        return self.summarise(self.app(name), with_active=with_active)

    def summarise(self, view: AppView, *, with_active: bool = False) -> AppSummary:
        reader = self.reader
        in_flight = view.promotion_id
        promotion = reader.get_promotion(in_flight) if in_flight else None
        queued = tuple(reader.queued_promotions(view.name)) if in_flight else ()
        active = None
        if with_active and view.active_release_id:
            active = reader.get_release(view.active_release_id)
        return AppSummary(view, promotion, queued, active)

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
