"""The hot views in memory stay current with the projections of a real ledger.

On SQLite and PostgreSQL: entries are dropped by the batches that touch their app, before
the worker makes the batch's position known; a load that raced with such a batch is
answered but not kept; events another worker projected are seen through the worker's
listener; the least recently read app leaves first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.commands import UpdateEnv
from ledger.errors import NotFound
from ledger.queries import Queries
from projections import ProjectionWorker
from projections.hot import HotApp, HotViews
from tests.integration.projections.conftest import ALICE, Ledger


class Hot:
    """Views, their worker (driven by ``catch_up``) and the hot views, wired as ledgerd
    wires them."""

    def __init__(self, ledger: Ledger, capacity: int = 10, releases_kept: int = 5) -> None:
        self.ledger = ledger
        self.views = views = ledger.open_views()
        queries = Queries(views, ledger.app)
        self.hot = HotViews(views, queries.app_summary, capacity, releases_kept)
        views.observers.append(self.hot)
        self.worker = ProjectionWorker(ledger.app, views, listeners=[self.hot.on_events])
        self.hot.follow(self.worker)

    def catch_up(self) -> None:
        self.worker.catch_up()

    def update_env(self, app: str, value: str) -> None:
        self.ledger.service.update_env(UpdateEnv(app=app, set_values={"K": value}), ALICE)

    def read(self, name: str) -> HotApp:
        """What a GetApp is answered with: the kept entry, else a load."""
        return self.hot.get(name) or self.hot.load(name)


@pytest.fixture
def hot(ledger: Ledger) -> Iterator[Hot]:
    yield Hot(ledger)


def test_an_app_read_once_is_answered_from_memory_until_a_batch_touches_it(hot: Hot) -> None:
    hot.ledger.create_app("web")
    hot.ledger.create_app("api")
    hot.catch_up()
    loaded = hot.hot.load("web")

    assert hot.hot.get("web") is loaded
    hot.update_env("api", "1")
    hot.catch_up()
    assert hot.hot.get("web") is loaded  # another app's batch leaves it

    hot.update_env("web", "1")
    hot.catch_up()
    assert hot.hot.get("web") is None
    assert hot.read("web").summary.app.env_version == 1
    assert hot.hot.get("web") is not None


def test_an_entry_has_the_promotion_in_flight_and_the_newest_releases(hot: Hot) -> None:
    hot.ledger.create_app("web")
    first, _ = hot.ledger.deploy("web", "web:1")
    for n in range(6):
        hot.update_env("web", str(n))
    hot.catch_up()

    entry = hot.read("web")

    releases = hot.views.list_releases("web", 0, 100)
    assert entry.summary == Queries(hot.views, hot.ledger.app).app_summary("web")
    assert list(entry.releases) == releases[:5] and not entry.complete
    assert entry.releases_before(0, 5) == releases[:5]
    assert entry.releases_before(releases[1].version, 3) == releases[2:5]
    assert entry.releases_before(releases[1].version, 4) is None  # deeper than kept
    assert entry.releases[-1].id != first


def test_a_load_that_began_before_a_batch_touching_its_app_is_answered_not_kept(
    hot: Hot,
) -> None:
    hot.ledger.create_app("web")
    hot.ledger.create_app("api")
    hot.catch_up()
    stamp = hot.hot.stamp()  # a load begins: it may have read rows older than the batch
    hot.update_env("web", "1")
    hot.catch_up()

    answered = hot.hot.load("web", stamp)
    other = hot.hot.load("api", stamp)

    assert answered.summary.app.env_version == 1  # read after the commit: right, once
    assert hot.hot.get("web") is None and "web" not in hot.hot
    assert hot.hot.get("api") is other  # untouched since the stamp: kept
    assert not hot.hot.fresh("web", stamp) and hot.hot.fresh("api", stamp)
    assert hot.hot.get("web") is None
    assert hot.read("web").summary.app.env_version == 1


def test_the_least_recently_read_app_leaves_first_and_is_read_again_correctly(
    ledger: Ledger,
) -> None:
    hot = Hot(ledger, capacity=2)
    for name in ("a", "b", "c"):
        ledger.create_app(name)
    hot.catch_up()
    hot.hot.load("a")
    hot.hot.load("b")
    assert hot.hot.get("a") is not None  # "b" is now the least recently read

    hot.hot.load("c")

    assert len(hot.hot) == 2 and "b" not in hot.hot
    hot.update_env("b", "1")
    hot.catch_up()
    assert hot.read("b").summary.app.env_version == 1
    assert "b" in hot.hot and len(hot.hot) == 2


def test_events_another_worker_projected_drop_entries_once_this_worker_sees_them(
    ledger: Ledger,
) -> None:
    hot = Hot(ledger)
    other = ledger.open_views()  # another process's worker on the same views
    ledger.create_app("web")
    hot.catch_up()
    kept = hot.hot.load("web")
    hot.update_env("web", "1")

    ProjectionWorker(ledger.app, other).catch_up()

    assert hot.hot.get("web") is kept  # this process has not seen the batch yet
    hot.catch_up()  # sees it as projected already, hands it to its listeners
    assert hot.hot.get("web") is None
    assert hot.read("web").summary.app.env_version == 1


def test_between_a_batch_and_the_listener_events_projected_elsewhere_are_not_served(
    ledger: Ledger,
) -> None:
    hot = Hot(ledger)
    other = ledger.open_views()
    ledger.create_app("web")
    ledger.create_app("api")
    hot.catch_up()
    hot.hot.load("web")
    hot.update_env("web", "1")
    ProjectionWorker(ledger.app, other).catch_up()  # projected by another process
    hot.update_env("api", "1")  # projected by this one, in the same step
    served: list[HotApp | None] = []
    # Runs after the worker made the step's position known, before the cache's listener.
    hot.worker.listeners.insert(0, lambda events: served.append(hot.hot.get("web")))

    hot.catch_up()

    assert served == [None]
    assert hot.read("web").summary.app.env_version == 1


def test_emptied_views_forget_every_entry_and_every_load_begun_before(hot: Hot) -> None:
    hot.ledger.create_app("web")
    hot.catch_up()
    stamp = hot.hot.stamp()
    hot.hot.load("web")

    hot.views.reset()

    assert len(hot.hot) == 0
    assert not hot.hot.fresh("web", stamp)


def test_an_unknown_app_is_not_found_and_nothing_is_kept(hot: Hot) -> None:
    with pytest.raises(NotFound):
        hot.hot.load("nope")
    assert len(hot.hot) == 0


def test_a_capacity_of_zero_keeps_nothing(ledger: Ledger) -> None:
    hot = Hot(ledger, capacity=0)
    ledger.create_app("web")
    hot.catch_up()

    assert hot.hot.load("web").summary.app.name == "web"
    assert hot.hot.get("web") is None and len(hot.hot) == 0


def test_nothing_of_an_app_is_kept_while_a_batch_touching_it_commits(hot: Hot) -> None:
    hot.ledger.create_app("web")
    hot.catch_up()
    position = hot.worker.position

    hot.hot.committing({"web"})
    hot.hot.load("web")  # may read the rows before or after the commit
    assert "web" not in hot.hot
    hot.hot.committed({"web"}, position + 1, position + 1)
    hot.hot.load("web")

    assert "web" in hot.hot


def test_kept_releases_equal_the_views_and_share_their_repeated_values(hot: Hot) -> None:
    hot.ledger.create_app("web")
    hot.ledger.deploy("web", "web:1")
    for n in range(4):
        hot.update_env("web", str(n))
    hot.catch_up()

    kept = hot.read("web").releases

    assert list(kept) == hot.views.list_releases("web", 0, 5)
    assert kept[0].image is kept[1].image and kept[0].env_keys is kept[1].env_keys


def test_an_entry_read_without_releases_gets_them_when_asked_and_keeps_them(hot: Hot) -> None:
    hot.ledger.create_app("web")
    hot.ledger.deploy("web", "web:1")
    hot.catch_up()

    light = hot.hot.load("web", releases=False)
    assert light.releases is None and light.releases_before(0, 1) is None
    assert hot.hot.get("web") is light

    full = hot.hot.load("web")
    hot.hot.load("web", releases=False)  # as current, holding less: not kept over it

    assert hot.hot.get("web") is full
    assert full.releases_before(0, 1) == hot.views.list_releases("web", 0, 1)
