"""The Releases tab, one release's page, and the confirmation before promoting or rolling
back to a release.

Reads come from the projections (:class:`~projections.views.ReleaseView`); what differs
between two releases comes from the Release aggregates (views carry env keys, never
values). Promote and rollback run the very use cases ``PromoteRelease`` and
``RollbackRelease`` run, admitted by those RPCs' rules; the ledger's own errors refuse
what it refuses (the error boundary renders them).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ledger import commands
from ledger.access import Permission, Principal
from ledger.domain.release import ReleaseDiff
from ledger.errors import NotFound
from ledger.ids import RELEASE, check_app_name, check_id
from projections.views import ReleaseView
from server.console.context import Console
from server.console.pages.common import (
    app_context,
    app_header,
    form,
    int_field,
    query_number,
    signed_in,
)
from server.infra.authn import revealing

PAGE_SIZE = 50
ACTIONS = {"promote": "PromoteRelease", "rollback": "RollbackRelease"}
"""Each confirmable action and the RPC whose rule admits it."""


@dataclass(frozen=True)
class Change:
    """How ``release`` differs from ``base`` (None: nothing to compare with)."""

    base: ReleaseView | None
    diff: ReleaseDiff | None


async def release_of(console: Console, app: str, release_id: str) -> ReleaseView:
    """A release of ``app``: NOT_FOUND for an unknown id or another app's release (the
    same answer, so ids of apps the key may not read are not confirmed to exist)."""
    check_id(RELEASE, release_id)
    view: ReleaseView | None = await console.run(console.backend.reader.get_release, release_id)
    if view is None or view.app != app:
        raise NotFound(f"release {release_id} not found in app {app}")
    return view


async def change(console: Console, base: ReleaseView | None, release: ReleaseView) -> Change:
    """What differs from ``base`` to ``release``: the aggregates' diff (keys only)."""
    if base is None:
        return Change(None, None)
    ledger = console.backend.service.ledger
    before = await console.run(ledger.release, base.app, base.id)
    after = await console.run(ledger.release, release.app, release.id)
    return Change(base, before.diff(after))


async def releases_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    await console.allow(principal, "ListReleases", app=app)
    before = query_number(request.query_params, "before")
    reader = console.backend.reader

    def load() -> tuple[list[ReleaseView], bool, dict[str, int]]:
        found = reader.list_releases(app, before_version=before, limit=PAGE_SIZE + 1)
        shown = found[:PAGE_SIZE]
        # Versions of the parents, so the table says "v2" rather than a bare id.
        versions = {view.id: view.version for view in shown}
        for view in shown:
            if view.parent_id and view.parent_id not in versions:
                parent = reader.get_release(view.parent_id)
                versions[view.parent_id] = parent.version if parent else 0
        return shown, len(found) > PAGE_SIZE, versions

    shown, more, versions = await console.run(load)
    active = header.active
    context = app_context(
        header,
        "releases",
        releases=shown,
        versions=versions,
        active=active,
        older=shown[-1].version if more and shown else 0,
    )
    return console.render(request, "releases.html", context, principal=principal)


async def release_page(request: Request) -> Response:
    """A release's facts, its env keys (values only when asked and allowed), and what
    differs from the release it was derived from (else the one before it)."""
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    await console.allow(principal, "GetRelease", app=app)
    release = await release_of(console, app, request.path_params["id"])
    # PermissionDenied for a key that may not see values: it never gets masked values
    # that look like real ones.
    reveal = revealing(app, request.query_params.get("reveal", "") == "1")
    aggregate = await console.run(console.backend.service.ledger.release, app, release.id)
    env = dict(sorted(aggregate.env.items())) if reveal else dict.fromkeys(sorted(aggregate.env))
    base = await derived_from(console, release)
    context = app_context(
        header,
        "releases",
        release=release,
        env=env,
        revealed=reveal,
        may_reveal=principal.may(Permission.REVEAL_ENV, app),
        change=await change(console, base, release),
        active=header.active,
    )
    response = console.render(request, "release.html", context, principal=principal)
    if reveal:
        response.headers["Cache-Control"] = "no-store"  # secrets stay out of caches
    return response


async def derived_from(console: Console, release: ReleaseView) -> ReleaseView | None:
    """The release's parent, else the release numbered just before it."""
    reader = console.backend.reader

    def load() -> ReleaseView | None:
        if release.parent_id:
            return reader.get_release(release.parent_id)
        previous = reader.list_releases(release.app, before_version=release.version, limit=1)
        return previous[0] if previous else None

    base: ReleaseView | None = await console.run(load)
    return base


async def confirm_page(request: Request) -> Response:
    """What promoting (or rolling back to) a release will do, before it is done."""
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise NotFound(f"no action {action[:20]!r} on releases")
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    await console.allow(principal, ACTIONS[action], app=app)
    release = await release_of(console, app, request.path_params["id"])
    active = header.active
    context = app_context(
        header,
        "releases",
        action=action,
        release=release,
        active=active,
        change=await change(console, active, release),
    )
    return console.render(request, "confirm.html", context, principal=principal)


async def confirm(request: Request) -> Response:
    """Promote or roll back as confirmed, then show the promotion that does it."""
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise NotFound(f"no action {action[:20]!r} on releases")
    console, principal = await signed_in(request)
    app = check_app_name(request.path_params["app"])
    # Admitted by the API's own rule before anything is read: a forged form from a key
    # that may not deploy is refused here.
    await console.allow(principal, ACTIONS[action], app=app)
    values = await form(request)
    release = await release_of(console, app, request.path_params["id"])
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
