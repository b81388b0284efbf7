"""Release diffs: ``/apps/{app}/diff?from=<release>&to=<release>``.

What ``DiffReleases`` answers, admitted by its rule: both releases' facts, whether the
build changed, and the env keys added, changed and removed. Values are secrets: the
comparison runs on the Release aggregates (which hold them) and only key names leave
it. Both releases must be of the app in the URL (NOT_FOUND otherwise, like the API).
Without ``from`` the release is compared with its base (the release it was derived
from, else the previous version); without ``to``, the app's latest release is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger.application import LedgerApplication
from ledger.domain.release import ReleaseDiff
from ledger.errors import NotFound
from ledger.ids import RELEASE, check_id
from projections.reader import ReadModel
from projections.views import ReleaseView
from server.console.pages.common import app_context, app_header, signed_in

RECENT = 50  # releases offered by the pickers


@dataclass(frozen=True)
class Comparison:
    """The page's content: ``older`` is None when ``newer`` has nothing to compare with."""

    older: ReleaseView | None
    newer: ReleaseView | None
    diff: ReleaseDiff | None
    choices: list[ReleaseView]  # for the pickers, newest first


def owned(reader: ReadModel, app: str, release_id: str) -> ReleaseView:
    """The release ``release_id`` of ``app`` (NOT_FOUND for another app's, as the API)."""
    check_id(RELEASE, release_id)
    view = reader.get_release(release_id)
    if view is None or view.app != app:
        raise NotFound(f"release {release_id} not found in app {app}")
    return view


def base_of(reader: ReadModel, release: ReleaseView) -> ReleaseView | None:
    """What a release is naturally compared with: its parent (env change, rollback), else
    the app's previous version (a new build has no parent)."""
    if release.parent_id:
        parent = reader.get_release(release.parent_id)
        if parent is not None:
            return parent
    previous = reader.list_releases(release.app, before_version=release.version, limit=1)
    return previous[0] if previous else None


def compare(
    reader: ReadModel, ledger: LedgerApplication, app: str, from_id: str, to_id: str
) -> Comparison:
    """Blocking: reads the views, then the two Release aggregates for their env."""
    choices = reader.list_releases(app, limit=RECENT)
    newer = owned(reader, app, to_id) if to_id else (choices[0] if choices else None)
    older = owned(reader, app, from_id) if from_id else None
    if older is None and newer is not None and not from_id:
        older = base_of(reader, newer)
    for chosen in (newer, older):  # older picks may be past the recent ones
        if chosen is not None and all(view.id != chosen.id for view in choices):
            choices.append(chosen)
    diff = None
    if older is not None and newer is not None:
        diff = ledger.release(app, older.id).diff(ledger.release(app, newer.id))
    return Comparison(older, newer, diff, choices)


async def diff_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    from_id = request.query_params.get("from", "").strip()
    to_id = request.query_params.get("to", "").strip()
    await console.allow(
        principal, "DiffReleases", app=app, from_release_id=from_id, to_release_id=to_id
    )
    backend = console.backend
    comparison: Comparison = await console.run(
        compare, backend.reader, backend.service.ledger, app, from_id, to_id
    )
    context = app_context(header, "releases", comparison=comparison)
    return console.render(request, "diff.html", context, principal=principal)


routes: list[BaseRoute] = [Route("/apps/{app}/diff", diff_page, methods=["GET"])]
