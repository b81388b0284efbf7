"""The Promotions tab, one promotion's page (its steps arriving live, its failure cause),
and cancelling a promotion in flight.

Promotions are the read side's (``Queries.promotion``, with its steps); cancelling runs the
use case ``CancelPromotion`` runs, admitted for the policy's ``cancel_promotion`` action.
A promotion's page re-renders itself on every event of its app, so the steps the runtime
records show up while the rollout runs.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import commands
from ledger.domain import PromotionStatus, StepKind
from ledger.ids import check_app_name
from ledger.policy import Action
from ledger.views import PromotionView
from server.console.pages.common import (
    app_context,
    app_header,
    form,
    query_number,
    render_page,
    signed_in,
)

PAGE_SIZE = 50
CAUSE_FIELDS = ("message", "service", "node", "container", "exit_code", "last_response", "output")
"""A failure cause's fields after its kind, in the order ``ledgerctl promotions info``
shows them."""


def step_class(kind: str) -> str:
    """The timeline class of a step: ``bad`` for failures, ``ok`` for progress."""
    try:
        step = StepKind(kind)
    except ValueError:  # a step kind of a newer ledgerd: shown plainly
        return ""
    return "bad" if step.failure else "ok" if step.progress else ""


def cause_rows(cause: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) of each field the cause has, like the CLI (empty ones left out)."""
    if not cause:
        return []
    rows = []
    for key in CAUSE_FIELDS:
        value = cause.get(key)
        if value not in (None, "", 0):
            rows.append((key.replace("_", " ").capitalize(), str(value)))
    return rows


async def promotions_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    before = query_number(request.query_params, "before")
    queries = console.queries

    def load() -> tuple[list[PromotionView], bool, dict[str, int]]:
        found = queries.promotions(app, before_position=before, limit=PAGE_SIZE + 1)
        shown = found[:PAGE_SIZE]
        ids = [i for p in shown for i in (p.release_id, p.previous_release_id)]
        return shown, len(found) > PAGE_SIZE, queries.release_versions(ids)

    shown, more, versions = await console.run(load)
    context = app_context(
        header,
        "promotions",
        promotions=shown,
        versions=versions,
        older=shown[-1].position if more and shown else 0,
    )
    regions = {"promotions-table": "_promotions_table.html"}
    return render_page(console, request, "promotions.html", context, principal, regions)


async def promotion_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    queries = console.queries
    promotion = await console.run(queries.promotion, app, request.path_params["id"])
    ids = (promotion.release_id, promotion.previous_release_id)
    versions = await console.run(queries.release_versions, ids)
    context = app_context(
        header,
        "promotions",
        promotion=promotion,
        versions=versions,
        in_flight=PromotionStatus(promotion.status).cancellable,
        cause=cause_rows(promotion.cause),
        step_class=step_class,
    )
    regions = {"promotion": "_promotion.html"}
    return render_page(console, request, "promotion.html", context, principal, regions)


async def cancel(request: Request) -> Response:
    """Cancel a pending promotion, or ask a running one to stop and roll back."""
    console, principal = await signed_in(request)
    app = check_app_name(request.path_params["app"])
    console.allow(principal, Action.CANCEL_PROMOTION, app)
    values = await form(request)
    promotion = await console.run(console.queries.promotion, app, request.path_params["id"])
    command = commands.CancelPromotion(app=app, promotion_id=promotion.id)
    service = console.backend.service
    await console.execute(principal, service.cancel, command, values.get("request_id", ""))
    return RedirectResponse(f"/apps/{app}/promotions/{promotion.id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/apps/{app}/promotions", promotions_page, methods=["GET"]),
    Route("/apps/{app}/promotions/{id}", promotion_page, methods=["GET"]),
    Route("/apps/{app}/promotions/{id}/cancel", cancel, methods=["POST"]),
]
