"""The bulk rebuild (pages of events, one transaction each) gives the live projection's rows,
on SQLite and PostgreSQL, whether this process or worker processes prepare the pages, and a
rebuild cut short and run again gives them too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from ledger.commands import (
    CancelPromotion,
    CreateBuild,
    CreateKey,
    PromoteRelease,
    RevokeKey,
    UpdateApp,
    UpdateEnv,
)
from ledger.domain import Meta, StepStatus
from ledger.keys import KeyService
from projections import LedgerViews, ProjectionWorker, rebuild_pool
from projections.audit import Projectable
from projections.rebuild import rebuild
from projections.rebuild_pool import PreparedPage
from tests.integration.projections.conftest import ALICE, Ledger
from tests.integration.projections.test_build_logs import build_from_source
from tests.integration.projections.test_exactly_once import head, items
from tests.support.builds import image_build
from tests.support.workflows import (
    accept_delivery,
    create_workflow,
    queue_job,
    record_every_workflow_event,
    settings,
)

PAGE = 7  # several pages, and pages that end inside one command's events


class Cut(Exception):
    """The rebuild is cut here."""


def varied_history(ledger: Ledger, views: LedgerViews, sources: Path) -> None:
    """Every kind of event these tests can make: apps, builds (from images and from source,
    with logs), releases, env changes, promotions (settled, queued, cancelled), keys, the
    rack version, workflows, jobs, deliveries and an app's automation."""
    with_request = Meta(actor="alice@laptop", request_id="rebuild-1")
    ledger.service.record_rack_version("1.0", ALICE)
    for n in range(2):
        ledger.create_app(f"app{n}")
        env = UpdateEnv(app=f"app{n}", set_values={"K": f"v{n}"})
        ledger.service.update_env(env, with_request if n == 0 else ALICE)
        ledger.deploy(f"app{n}", f"img:{n}.1")
    ledger.service.update_app(UpdateApp(name="app0", deadline_seconds=90), ALICE)
    ledger.service.update_env(UpdateEnv(app="app0", set_values={"A": "1"}, promote=True), ALICE)
    queued_promotion(ledger)
    keys = KeyService(ledger.app, views)
    keys.create_key(CreateKey(name="admin", role="admin"), ALICE)
    deployer = CreateKey(name="deployer", role="deployer", apps=("app0",))
    keys.revoke_key(RevokeKey(key_id=keys.create_key(deployer, ALICE).outcome.key_id), ALICE)
    ledger.create_app("web")
    build_from_source(ledger, sources)
    record_every_workflow_event(ledger.app, "app1", "s3cr3t-of-the-workflow")
    create_workflow(ledger.app, ALICE, "live", settings(("app0",)))
    job = queue_job(ledger.app, ALICE, "live")
    accept_delivery(ledger.app, ALICE, "live", "d-live", job.job_id)
    job.start(ALICE)
    step = job.start_step(ALICE, "build", "app0", "building")
    job.end_step(ALICE, step, StepStatus.SUCCEEDED, release_id="R0000000001")
    ledger.app.save(job)


def queued_promotion(ledger: Ledger) -> None:
    """A promotion in flight, one queued behind it and cancelled, then the first settles."""
    release = image_build(ledger.service, CreateBuild(app="app1", image="img:1.2"), ALICE)
    ledger.runtime.gate.clear()
    try:
        running = ledger.service.promote(PromoteRelease(app="app1"), ALICE)
        command = PromoteRelease(app="app1", release_id=release.release_id, queue=True)
        queued = ledger.service.promote(command, ALICE)
        assert queued.queued
        ledger.service.cancel(CancelPromotion(app="app1", promotion_id=queued.promotion_id), ALICE)
    finally:
        ledger.runtime.gate.set()
    ledger.wait_promotion(running.promotion_id)


def live_projection(ledger: Ledger, views: LedgerViews, sources: Path) -> dict[str, Any]:
    """The views as the live worker projects the varied history, batch after batch."""
    varied_history(ledger, views, sources)
    ProjectionWorker(ledger.app, views, batch_size=5).catch_up()
    live = views.dump()
    assert views.position() == head(ledger)
    assert live["events"] and live["merkle_nodes"] and live["keys"] and live["build_logs"]
    assert live["promotion_steps"] and live["activations"] and live["env_changes"]
    assert live["jobs"] and live["job_steps"] and live["deliveries"] and live["app_workflows"]
    return live


def cutting(at_call: int, where: Callable[..., Any]) -> Callable[..., Any]:
    """``where`` (a method of the views' writing path) that raises :class:`Cut` on its
    ``at_call``-th call."""
    calls = 0

    def cut(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == at_call:
            raise Cut(f"cut at call {calls}")
        return where(*args)

    return cut


def test_a_rebuild_in_pages_gives_exactly_the_rows_of_the_live_projection(
    ledger: Ledger, views: LedgerViews, tmp_path: Path
) -> None:
    live = live_projection(ledger, views, tmp_path / "sources")
    assert head(ledger) > 10 * PAGE

    applied = rebuild(ledger.app, views, page=PAGE)

    assert applied == len(ledger.app.recorder.select_notifications(1, 10_000))
    assert views.dump() == live
    assert views.position() == head(ledger)


def test_a_rebuild_in_one_page_gives_the_same_rows(
    ledger: Ledger, views: LedgerViews, tmp_path: Path
) -> None:
    live = live_projection(ledger, views, tmp_path / "sources")

    rebuild(ledger.app, views, page=10_000)

    assert views.dump() == live


def test_each_page_is_tracked_in_its_transaction_so_a_cut_rebuild_keeps_whole_pages(
    ledger: Ledger, views: LedgerViews, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = live_projection(ledger, views, tmp_path / "sources")
    pages = ledger.app.recorder.select_notifications(1, 3 * PAGE)
    # The third page fails inside its transaction, after its rows and before its tree.
    monkeypatch.setattr(views.merkle, "append", cutting(3, views.merkle.append))

    with pytest.raises(Cut):
        rebuild(ledger.app, views, page=PAGE)

    applied = pages[2 * PAGE - 1].id
    assert views.position() == applied
    assert views.tree_size() == 2 * PAGE
    audited = [e for e in live["events"] if e[0] <= applied]
    assert views.dump()["events"] == audited


def test_a_rebuild_cut_between_pages_and_run_again_gives_the_live_rows(
    ledger: Ledger, views: LedgerViews, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = live_projection(ledger, views, tmp_path / "sources")
    monkeypatch.setattr(views, "apply_bulk", cutting(4, views.apply_bulk))
    with pytest.raises(Cut):
        rebuild(ledger.app, views, page=PAGE)
    assert 0 < views.position() < head(ledger)
    monkeypatch.undo()

    rebuild(ledger.app, views, page=PAGE)

    assert views.dump() == live


def test_a_page_that_another_worker_applied_first_is_skipped_not_applied_twice(
    ledger: Ledger, views: LedgerViews, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = live_projection(ledger, views, tmp_path / "sources")
    rival, log = ledger.open_views(), items(ledger)
    overtaken = log[PAGE : 2 * PAGE + 2]  # the second page and a little more
    apply_bulk = views.apply_bulk

    def rival_first(page: Sequence[Projectable], tracking: Tracking) -> None:
        if page[0] == overtaken[0]:
            rival.apply_batch(overtaken, Tracking(ledger.app.name, overtaken[-1].position))
        apply_bulk(page, tracking)

    monkeypatch.setattr(views, "apply_bulk", rival_first)

    applied = rebuild(ledger.app, views, page=PAGE)

    assert applied == len(log) - len(overtaken)
    assert views.dump() == live


def test_a_rebuild_prepared_in_worker_processes_gives_exactly_the_rows_of_the_live_projection(
    ledger: Ledger, views: LedgerViews, tmp_path: Path
) -> None:
    live = live_projection(ledger, views, tmp_path / "sources")

    applied = rebuild(ledger.app, views, page=PAGE, workers=2, parallel_from=0)

    assert applied == len(items(ledger))
    assert views.dump() == live
    assert views.position() == head(ledger)


def test_pages_prepared_in_worker_processes_skip_what_another_worker_applied_first(
    ledger: Ledger, views: LedgerViews, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = live_projection(ledger, views, tmp_path / "sources")
    rival, log = ledger.open_views(), items(ledger)
    overtaken = log[PAGE : 2 * PAGE + 2]  # the second page and a little more
    apply_prepared = views.apply_prepared

    def rival_first(page: PreparedPage, tracking: Tracking) -> None:
        if page.positions[0] == overtaken[0].position:
            rival.apply_batch(overtaken, Tracking(ledger.app.name, overtaken[-1].position))
        apply_prepared(page, tracking)

    monkeypatch.setattr(views, "apply_prepared", rival_first)

    applied = rebuild(ledger.app, views, page=PAGE, workers=2, parallel_from=0)

    assert applied == len(log) - len(overtaken)
    assert views.dump() == live


def test_a_short_log_is_rebuilt_without_starting_worker_processes(
    ledger: Ledger, views: LedgerViews, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = live_projection(ledger, views, tmp_path / "sources")

    def no_pool(*args: object) -> None:
        raise AssertionError("worker processes started for a short log")

    monkeypatch.setattr(rebuild_pool, "pool", no_pool)

    rebuild(ledger.app, views, page=PAGE, workers=2)

    assert views.dump() == live
