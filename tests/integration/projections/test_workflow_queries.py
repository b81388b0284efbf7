"""The read side's workflow queries (:mod:`ledger.queries.workflows`) over the projected
views, on SQLite and PostgreSQL: names and ids checked, deleted workflows hidden, and the
lists a key may see."""

from __future__ import annotations

import pytest

from ledger.domain.key import Role
from ledger.errors import InvalidArgument, NotFound
from ledger.policy import Principal
from ledger.queries import Queries
from projections import LedgerViews, ProjectionWorker
from tests.integration.projections.conftest import ALICE, Ledger
from tests.support.workflows import accept_delivery, create_workflow, queue_job, settings


def catch_up(ledger: Ledger, views: LedgerViews) -> int:
    return ProjectionWorker(ledger.app, views).catch_up()


def test_the_workflow_queries_check_names_and_ids_and_hide_deleted_workflows(
    ledger: Ledger, views: LedgerViews
) -> None:
    ledger.create_app("shop")
    create_workflow(ledger.app, ALICE, "deploy", settings())
    create_workflow(ledger.app, ALICE, "gone", settings())
    job = queue_job(ledger.app, ALICE, "deploy")
    accept_delivery(ledger.app, ALICE, "deploy", "d-1", job.job_id)
    gone = ledger.app.workflow("gone")
    gone.delete(ALICE)
    ledger.app.save(gone)
    catch_up(ledger, views)
    queries = Queries(views, ledger.app)
    assert queries.workflow("gone", deleted_too=True).deleted

    assert queries.workflow("deploy").apps == ("shop",)
    assert [w.name for w in queries.workflows()] == ["deploy"]
    with pytest.raises(NotFound, match="workflow gone not found"):
        queries.workflow("gone")
    with pytest.raises(InvalidArgument):
        queries.workflow("Not A Name")
    assert queries.job(job.job_id).apps == ("shop",)
    with pytest.raises(InvalidArgument):
        queries.job("B0000000001")
    with pytest.raises(NotFound, match="job JAAAAAAAAAA not found"):
        queries.job("JAAAAAAAAAA")
    assert [j.id for j in queries.jobs("deploy")] == [job.job_id] == [j.id for j in queries.jobs()]
    with pytest.raises(NotFound):
        queries.jobs("gone")
    page = queries.deliveries("deploy")
    assert page.workflow.name == "deploy" and [d.job_id for d in page.deliveries] == [job.job_id]
    with pytest.raises(NotFound):
        queries.deliveries("nope")


def test_a_key_lists_the_workflows_and_jobs_of_its_apps_and_sees_paused_apps(
    ledger: Ledger, views: LedgerViews
) -> None:
    for app in ("api", "shop"):
        ledger.create_app(app)
    create_workflow(ledger.app, ALICE, "both", settings(("api", "shop")))
    create_workflow(ledger.app, ALICE, "only-api", settings(("api",)))
    create_workflow(ledger.app, ALICE, "only-shop", settings(("shop",)))
    jobs = {name: queue_job(ledger.app, ALICE, name).job_id for name in ("both", "only-api")}
    shop = ledger.app.app("shop")
    shop.pause_auto_promotion(ALICE, "rolled back by alice")
    ledger.app.save(shop)
    catch_up(ledger, views)
    queries = Queries(views, ledger.app)
    reader = Principal("K0000000001", "ci", Role.READER, frozenset({"shop"}))
    admin = Principal("K0000000002", "root", Role.ADMIN)

    assert [w.name for w in queries.visible_workflows(reader)] == ["both", "only-shop"]
    assert [w.name for w in queries.visible_workflows(reader, after="both")] == ["only-shop"]
    assert len(queries.visible_workflows(admin)) == 3
    assert [j.id for j in queries.visible_jobs(reader)] == [jobs["both"]]
    assert queries.visible_jobs(reader, "only-api") == []
    assert [j.id for j in queries.visible_jobs(admin, limit=1)] == [jobs["only-api"]]
    assert queries.paused_apps(queries.workflow("both")) == [("shop", "rolled back by alice")]
    assert queries.paused_apps(queries.workflow("only-api")) == []
