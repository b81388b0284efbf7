"""The Releases tab, one release's page, and the confirmation before promoting or rolling
back to a release.

Reads are the read side's (:mod:`ledger.queries`: releases, a release with its env masked
unless revealed, what differs between two). Promote and rollback run the very use cases
``PromoteRelease`` and ``RollbackRelease`` run, admitted for the policy's ``promote`` and
``rollback`` actions; the ledger's own errors refuse what it refuses (the error boundary
renders them).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import commands
from ledger.domain.release import ReleaseDiff
from ledger.errors import NotFound
from ledger.ids import check_app_name
from ledger.policy import Action, Principal
from ledger.queries import Queries, ReleaseDetail
from ledger.queries.release_facts import EnvChange, ReleaseIdentity
from ledger.views import ReleaseView
from server.console.context import Console
from server.console.pages.common import (
    app_context,
    app_header,
    form,
    int_field,
    query_number,
    render_page,
    signed_in,
)

PAGE_SIZE = 50
ACTIONS = {"promote": Action.PROMOTE, "rollback": Action.ROLLBACK}
"""Each confirmable action of the URL and the policy's action it is."""


@dataclass(frozen=True)
class Change:
    """How ``release`` differs from ``base`` (None: nothing to compare with)."""

    base: ReleaseView | None
    diff: ReleaseDiff | None


def change(queries: Queries, base: ReleaseView | None, release: ReleaseView) -> Change:
    """Blocking: what differs from ``base`` to ``release`` (keys only)."""
    if base is None:
        return Change(None, None)
    return Change(base, queries.diff_views(base, release))


async def releases_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    before = query_number(request.query_params, "before")
    queries = console.queries

    def load() -> tuple[list[ReleaseView], bool, dict[str, ReleaseIdentity]]:
        found = queries.releases(app, before_version=before, limit=PAGE_SIZE + 1)
        shown = found[:PAGE_SIZE]
        return shown, len(found) > PAGE_SIZE, queries.identities(shown)

    shown, more, identities = await console.run(load)
    context = app_context(
        header,
        "releases",
        releases=shown,
        identities=identities,
        active=header.active,
        older=shown[-1].version if more and shown else 0,
    )
    regions = {"releases-table": "_releases_table.html"}
    return render_page(console, request, "releases.html", context, principal, regions)


async def release_page(request: Request) -> Response:
    """A release's facts, its env keys (values only when asked and allowed), and what
    differs from the release it was derived from (else the one before it)."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    reveal = request.query_params.get("reveal", "") == "1"
    queries = console.queries

    def load() -> tuple[ReleaseDetail, Change]:
        # PermissionDenied for a key that may not see values: it never gets masked values
        # that look like real ones.
        detail = queries.release_detail(principal, app, request.path_params["id"], reveal=reveal)
        return detail, change(queries, queries.base_of(detail.release), detail.release)

    detail, difference = await console.run(load)
    identity = await console.run(queries.identity, detail.release)
    context = app_context(
        header,
        "releases",
        release=detail.release,
        identity=identity,
        env=detail.env,
        revealed=not detail.masked,
        may_reveal=console.may(principal, Action.REVEAL_ENV, app),
        change=difference,
        active=header.active,
    )
    regions = {"release-facts": "_release_facts.html"}
    response = render_page(console, request, "release.html", context, principal, regions)
    if reveal:
        response.headers["Cache-Control"] = "no-store"  # secrets stay out of caches
    return response


async def confirm_page(request: Request) -> Response:
    """What promoting (or rolling back to) a release will do, before it is done: in one
    sentence, and as the env change it brings key by key (values masked unless the key
    may reveal them and asked to)."""
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise NotFound(f"no action {action[:20]!r} on releases")
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    console.allow(principal, ACTIONS[action], app)
    reveal = request.query_params.get("reveal", "") == "1"
    queries = console.queries
    active = header.active

    def load() -> tuple[ReleaseView, Change, list[EnvChange]]:
        release = queries.release(app, request.path_params["id"])
        changes = []
        if active is not None:
            changes = queries.env_change(principal, active, release, reveal=reveal)
        return release, change(queries, active, release), changes

    release, difference, changes = await console.run(load)
    context = app_context(
        header,
        "releases",
        action=action,
        release=release,
        identity=await console.run(queries.identity, release),
        active=active,
        change=difference,
        env_changes=changes,
        revealed=reveal,
        may_reveal=console.may(principal, Action.REVEAL_ENV, app),
    )
    response = console.render(request, "confirm.html", context, principal=principal)
    if reveal:
        response.headers["Cache-Control"] = "no-store"  # secrets stay out of caches
    return response


async def confirm(request: Request) -> Response:
    """Promote or roll back as confirmed, then show the promotion that does it."""
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise NotFound(f"no action {action[:20]!r} on releases")
    console, principal = await signed_in(request)
    app = check_app_name(request.path_params["app"])
    # Admitted by the policy before anything is read: a forged form from a key that may
    # not deploy is refused here.
    console.allow(principal, ACTIONS[action], app)
    values = await form(request)
    release = await console.run(console.queries.release, app, request.path_params["id"])
    promotion_id = await run_action(console, principal, action, release, values)
    return RedirectResponse(f"/apps/{app}/promotions/{promotion_id}", status_code=303)


async def run_action(
    console: Console,
    principal: Principal,
    action: str,
    release: ReleaseView,
    values: dict[str, str],
) -> str:
    """Run the use case of ``action`` on ``release``; the id of the promotion it began."""
    service = console.backend.service
    description = values.get("description", "").strip()
    deadline = int_field(values, "deadline_seconds", 0) or 0
    queue = values.get("queue", "") == "1"
    request_id = values.get("request_id", "")
    if action == "promote":
        promote = commands.PromoteRelease(
            app=release.app,
            release_id=release.id,
            description=description,
            deadline_seconds=deadline,
            queue=queue,
        )
        outcome = await console.execute(principal, service.promote, promote, request_id)
    else:
        rollback = commands.RollbackRelease(
            app=release.app,
            release_id=release.id,
            description=description,
            deadline_seconds=deadline,
            queue=queue,
        )
        outcome = await console.execute(principal, service.rollback, rollback, request_id)
    return outcome.promotion_id


routes: list[BaseRoute] = [
    Route("/apps/{app}/releases", releases_page, methods=["GET"]),
    Route("/apps/{app}/releases/{id}", release_page, methods=["GET"]),
    Route("/apps/{app}/releases/{id}/{action}", confirm_page, methods=["GET"]),
    Route("/apps/{app}/releases/{id}/{action}", confirm, methods=["POST"]),
]
