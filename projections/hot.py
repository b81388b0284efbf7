"""The hot read models in memory: each app with what is in flight and its newest releases.

``GetApp`` and the first page of ``ListReleases`` are most of what clients ask, and their
answers change only when an event of the app is projected. :class:`HotViews` keeps them
for the apps last asked about (an LRU of ``capacity`` apps) so that such a read is
answered on the event loop, from memory, with no thread hand-off and no SQL.

Read-your-writes holds as with the SQL views. The projection writer tells the cache which
apps a batch touches before the batch commits (their entries are dropped and none is kept
until it is settled, :meth:`HotViews.committing`) and again right after, *before* the
worker makes the batch's position known, so before any command waiting for it returns
(:meth:`HotViews.committed`): no read is answered from memory with less than the views
hold for the app. Events that another process projected
(several ``ledgerd`` on one database) reach the worker's listeners only after their
position is known, so until :meth:`HotViews.on_events` has seen them, nothing is served
from memory (:meth:`HotViews.get` checks that the cache has seen every position the
worker has). An entry is loaded from the views on a miss (:meth:`HotViews.load`, off the
event loop) and kept only if no batch touched its app since the load began: a load that
read rows older than a commit it raced with is answered once, never kept.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ledger.queries import AppSummary
from ledger.read_model import ReadModel
from ledger.views import EventView, ReleaseView

RELEASES_KEPT = 51
"""Releases kept per app: the API's default page (50) and the one telling another follows."""
FORGOTTEN_FACTOR = 4  # invalidations remembered per cached app before they are summarised


class Projected(Protocol):
    """Where the projection worker is: every position up to this one is in the views."""

    @property
    def position(self) -> int: ...


@dataclass(frozen=True, eq=False)
class HotApp:
    """One app as the hot reads answer it: ``summary`` (the app, the promotion in flight
    and those queued), its newest releases (newest first; None until a read asked for
    them) and whether they are all of them.

    ``memo`` holds what entry points derive from the entry (an API message, say), so each
    is built once per entry: an entry never changes, a newer one replaces it. Only the
    event loop touches ``memo``.
    """

    summary: AppSummary
    releases: tuple[ReleaseView, ...] | None
    complete: bool
    memo: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.summary.app.name

    def releases_before(self, before_version: int, limit: int) -> list[ReleaseView] | None:
        """As ``ReadModel.list_releases`` (versions below ``before_version``, 0: all,
        newest first), or None when the releases kept do not cover that page."""
        kept = self.releases
        if kept is None:
            return None
        start = 0
        if before_version:
            start = bisect.bisect_right(kept, -before_version, key=_descending)
        page = kept[start : start + limit]
        if len(page) == limit or self.complete:
            return list(page)
        return None


def _descending(release: ReleaseView) -> int:
    return -release.version


def compact(releases: list[ReleaseView]) -> tuple[ReleaseView, ...]:
    """The releases, their repeated values held once (an app's releases share their app,
    actor, image, build, env keys...): an entry takes half the memory."""
    same: dict[Any, Any] = {}

    def one(value: Any) -> Any:
        return same.setdefault(value, value)

    return tuple(
        replace(
            release,
            id=one(release.id),
            app=one(release.app),
            build_id=one(release.build_id),
            image=one(release.image),
            reason=one(release.reason),
            parent_id=one(release.parent_id),
            description=one(release.description),
            actor=one(release.actor),
            env_keys=one(tuple(one(key) for key in release.env_keys)),
            commit=same.setdefault(("commit", release.build_id), release.commit),
        )
        for release in releases
    )


class HotViews:
    """The hot entries of at most ``capacity`` apps (0: none kept), current with the views.

    Thread-safe: the projection worker invalidates, the backend's threads load, the event
    loop reads. :meth:`get` never blocks on I/O.
    """

    def __init__(
        self,
        reader: ReadModel,
        summarise: Callable[[str], AppSummary],
        capacity: int = 1000,
        releases_kept: int = RELEASES_KEPT,
    ) -> None:
        self.reader = reader
        self.summarise = summarise  # the read side's app summary (NotFound for no such app)
        self.capacity = capacity
        self.releases_kept = releases_kept
        self._entries: OrderedDict[str, HotApp] = OrderedDict()
        self._lock = threading.Lock()
        self._projected: Projected | None = None
        self._seen = 0  # every event up to this position has invalidated what it touched
        self._sequence = 0  # counts invalidations: a load's stamp is the count at its start
        self._touched: dict[str, int] = {}  # app -> sequence of its last invalidation
        self._floor = 0  # loads stamped before this are never kept (_touched was cleared)
        self._committing: set[str] = set()  # apps of the batch being committed

    def follow(self, projected: Projected) -> None:
        """Serve from memory only what ``projected`` (the projection worker) made current."""
        with self._lock:
            self._projected = projected
            self._seen = max(self._seen, projected.position)

    # -- reading (the event loop) ---------------------------------------------------------

    def get(self, name: str) -> HotApp | None:
        """The app's entry if it is kept and current, else None (then :meth:`load` it)."""
        projected = self._projected
        if projected is None or not self.capacity:
            return None
        position = projected.position
        with self._lock:
            if self._seen < position:  # events projected elsewhere not yet invalidated
                return None
            entry = self._entries.get(name)
            if entry is not None:
                self._entries.move_to_end(name)
            return entry

    def stamp(self) -> int:
        """Taken before a load starts (on the thread that decides to load)."""
        with self._lock:
            return self._sequence

    def fresh(self, name: str, stamp: int) -> bool:
        """Whether a load of ``name`` stamped ``stamp`` would still be current now (no
        batch touched the app since), so its answer may be shared with a later reader."""
        projected = self._projected
        if projected is None:
            return False
        position = projected.position
        with self._lock:
            return self._seen >= position and self._current(name, stamp)

    def _current(self, name: str, stamp: int) -> bool:
        return (
            stamp >= self._floor
            and self._touched.get(name, -1) <= stamp
            and name not in self._committing
        )

    # -- loading (blocking: off the event loop) -------------------------------------------

    def load(self, name: str, stamp: int | None = None, *, releases: bool = True) -> HotApp:
        """Read the app's entry from the views (its releases too if ``releases``: a read
        right after each write of the app need not pay for them) and keep it unless a
        batch touched the app after ``stamp`` (default: now). Raises what the read side
        raises (NotFound...)."""
        if stamp is None:
            stamp = self.stamp()
        summary = self.summarise(name)
        if not releases:
            entry = HotApp(summary, None, complete=False)
        else:
            kept = self.releases_kept
            found = self.reader.list_releases(summary.app.name, 0, kept + 1)
            entry = HotApp(summary, compact(found[:kept]), complete=len(found) <= kept)
        self._keep(entry, stamp)
        return entry

    def _keep(self, entry: HotApp, stamp: int) -> None:
        if not self.capacity:
            return
        with self._lock:
            if not self._current(entry.name, stamp):
                return
            kept = self._entries.get(entry.name)
            if kept is not None and kept.releases is not None and entry.releases is None:
                return  # as current (entries are dropped when touched), and holds more
            self._entries[entry.name] = entry
            self._entries.move_to_end(entry.name)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    # -- invalidating (the projection worker) ---------------------------------------------

    def committing(self, apps: Collection[str]) -> None:
        """A batch touching ``apps`` is about to commit: drop their entries, and keep none
        of them until it is settled, so that from the moment the views have the batch
        no read is answered from an entry without it."""
        with self._lock:
            self._committing.update(apps)
            self._invalidate(apps)

    def committed(self, apps: Collection[str], first: int, last: int) -> None:
        """A batch of the positions ``first`` to ``last`` touching ``apps`` committed: drop
        their entries (again: a load may have read the rows before the commit). Called by
        the views before the worker makes ``last`` known.

        Positions before ``first`` that were not seen yet (projected by another worker,
        or a gap in the log) are left for :meth:`on_events` to see: until then nothing is
        served from memory."""
        with self._lock:
            self._invalidate(apps)
            self._committing.difference_update(apps)
            if first <= self._seen + 1:
                self._seen = max(self._seen, last)

    def emptied(self) -> None:
        """The views were emptied (a rebuild): forget everything."""
        with self._lock:
            self._sequence += 1
            self._floor = self._sequence
            self._touched.clear()
            self._entries.clear()

    def on_events(self, events: list[EventView]) -> None:
        """Projection worker listener: events this process did not apply itself (another
        worker did, or this one's commit failed) drop the entries of their apps and settle
        them; then the cache is current again."""
        projected = self._projected
        with self._lock:
            seen = self._seen
            unseen = {event.app for event in events if event.position > seen}
            self._invalidate(unseen)
            self._committing.difference_update(unseen)
            if projected is not None:
                self._seen = max(seen, projected.position)

    def _invalidate(self, apps: Iterable[str]) -> None:
        self._sequence += 1
        sequence = self._sequence
        for app in apps:
            if not app:
                continue
            self._entries.pop(app, None)
            self._touched[app] = sequence
        if len(self._touched) > FORGOTTEN_FACTOR * max(self.capacity, 256):
            # Summarised as a floor: loads begun before now are never kept.
            self._touched.clear()
            self._floor = sequence

    # -- inspecting -------------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._entries
