"""Releases: one release (with its env, masked unless revealed), pages of them, what differs
between two, and which release was active at a log position or a time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ledger.domain.release import ReleaseDiff
from ledger.errors import InvalidArgument
from ledger.ids import RELEASE
from ledger.policy import Principal
from ledger.queries.base import QueriesBase
from ledger.queries.release_facts import EnvChange, ReleaseIdentity, env_changes, what_it_is
from ledger.views import ReleaseView


@dataclass(frozen=True)
class ReleaseDetail:
    """A release and its env: the values when revealed, else masked."""

    release: ReleaseView
    env: dict[str, str]
    masked: bool


@dataclass(frozen=True)
class Comparison:
    """How ``newer`` differs from ``older``: the build, and env keys (never values)."""

    older: ReleaseView
    newer: ReleaseView
    diff: ReleaseDiff


@dataclass(frozen=True)
class Picked:
    """The releases :meth:`ReleaseQueries.compare` chose (either may be missing) and, when
    it has both, how they differ."""

    older: ReleaseView | None
    newer: ReleaseView | None
    comparison: Comparison | None


class ReleaseQueries(QueriesBase):
    """Releases, read from the views; env values from the Release aggregates."""

    def release(self, app: str, release_id: str) -> ReleaseView:
        """The release ``release_id``, which must belong to ``app`` when one is given."""
        return self.owned_view(RELEASE, self.reader.get_release, app, release_id)

    def release_detail(
        self, principal: Principal, app: str, release_id: str, *, reveal: bool = False
    ) -> ReleaseDetail:
        view = self.release(app, release_id)
        revealed = self.revealing(principal, view.app, reveal)
        # Views carry env keys only; the values come from the Release aggregate.
        aggregate = self.ledger.release(view.app, view.id)
        return ReleaseDetail(view, self.env_values(aggregate.env, revealed), not revealed)

    def releases(self, app: str, before_version: int = 0, limit: int = 50) -> list[ReleaseView]:
        """The app's releases, newest first, versions below ``before_version`` (0: all)."""
        self.app(app)
        return self.reader.list_releases(app, before_version, limit)

    def release_versions(self, ids: Iterable[str]) -> dict[str, int]:
        """The version of each release id (0 for one not found), to show ``v3`` by ids."""
        versions: dict[str, int] = {}
        for release_id in ids:
            if release_id and release_id not in versions:
                view = self.reader.get_release(release_id)
                versions[release_id] = view.version if view is not None else 0
        return versions

    def base_of(self, release: ReleaseView) -> ReleaseView | None:
        """What a release is naturally compared with: its parent (env change, rollback),
        else the app's previous version (a new build has no parent)."""
        if release.parent_id:
            parent = self.reader.get_release(release.parent_id)
            if parent is not None:
                return parent
        previous = self.reader.list_releases(release.app, before_version=release.version, limit=1)
        return previous[0] if previous else None

    def diff(self, app: str, from_id: str, to_id: str) -> Comparison:
        """What differs from release ``from_id`` to ``to_id`` (keys only, never values)."""
        older, newer = self.release(app, from_id), self.release(app, to_id)
        return Comparison(older, newer, self.diff_views(older, newer))

    def compare(self, app: str, from_id: str = "", to_id: str = "") -> Picked:
        """Like :meth:`diff`, with defaults: without ``to_id`` the app's latest release,
        without ``from_id`` the base of the newer one (:meth:`base_of`)."""
        self.app(app)
        if to_id:
            newer: ReleaseView | None = self.release(app, to_id)
        else:
            latest = self.reader.list_releases(app, limit=1)
            newer = latest[0] if latest else None
        older = self.release(app, from_id) if from_id else None
        if older is None and newer is not None and not from_id:
            older = self.base_of(newer)
        comparison = None
        if older is not None and newer is not None:
            comparison = Comparison(older, newer, self.diff_views(older, newer))
        return Picked(older, newer, comparison)

    def diff_views(self, older: ReleaseView, newer: ReleaseView) -> ReleaseDiff:
        """How ``newer`` differs from ``older``, two releases already read."""
        before = self.ledger.release(older.app, older.id)
        return before.diff(self.ledger.release(newer.app, newer.id))

    def active_release_as_of(
        self, app: str, *, position: int = 0, time: datetime | None = None
    ) -> tuple[ReleaseView | None, int]:
        """The release active as of a log position or a time (neither: now), and the log
        position the answer is as of."""
        self.app(app)
        if position < 0:
            raise InvalidArgument("as_of_position must not be negative")
        release_id, at = self.reader.active_release_as_of(app, position=position, time=time)
        return (self.reader.get_release(release_id) if release_id else None), at

    def identities(self, releases: Iterable[ReleaseView]) -> dict[str, ReleaseIdentity]:
        """What each release is (:func:`~ledger.queries.release_facts.what_it_is`), by id,
        with the version each rollback returns to."""
        shown = list(releases)
        versions = {view.id: view.version for view in shown}
        parents = [v.parent_id for v in shown if v.reason == "rollback" and v.parent_id]
        versions.update(self.release_versions(p for p in parents if p not in versions))
        return {view.id: what_it_is(view, versions.get(view.parent_id, 0)) for view in shown}

    def env_change(
        self, principal: Principal, older: ReleaseView, newer: ReleaseView, *, reveal: bool
    ) -> list[EnvChange]:
        """The env keys going from ``older`` to ``newer`` adds, changes or removes, with
        both values (masked unless revealed, by the reveal rule)."""
        revealed = self.revealing(principal, newer.app, reveal)
        before = self.ledger.release(older.app, older.id)
        after = self.ledger.release(newer.app, newer.id)
        return env_changes(
            before.diff(after),
            self.env_values(before.env, revealed),
            self.env_values(after.env, revealed),
        )
