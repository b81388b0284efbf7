"""Release diffs: ``/apps/{app}/diff?from=<release>&to=<release>``.

What ``DiffReleases`` answers, from the same query (``Queries.compare``): both releases'
facts, whether the build changed, and the env keys added, changed and removed (values
are secrets: only key names leave the comparison). Both releases must be of the app in the
URL (NOT_FOUND otherwise, like the API). Without ``from`` the release is compared with
its base (the release it was derived from, else the previous version); without ``to``,
the app's latest release is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ledger.domain.release import ReleaseDiff
from ledger.policy import Action
from ledger.queries import Queries
from ledger.views import ReleaseView
from server.console.pages.common import app_context, app_header, signed_in

RECENT = 50  # releases offered by the pickers


@dataclass(frozen=True)
class Comparison:
    """The page's content: ``older`` is None when ``newer`` has nothing to compare with."""

    older: ReleaseView | None
    newer: ReleaseView | None
    diff: ReleaseDiff | None
    choices: list[ReleaseView]  # for the pickers, newest first


def compare(queries: Queries, app: str, from_id: str, to_id: str) -> Comparison:
    """Blocking: the comparison, and the releases the pickers offer."""
    picked = queries.compare(app, from_id, to_id)
    choices = queries.releases(app, limit=RECENT)
    for chosen in (picked.newer, picked.older):  # older picks may be past the recent ones
        if chosen is not None and all(view.id != chosen.id for view in choices):
            choices.append(chosen)
    diff = picked.comparison.diff if picked.comparison is not None else None
    return Comparison(picked.older, picked.newer, diff, choices)


async def diff_page(request: Request) -> Response:
    console, principal = await signed_in(request)
    header = await app_header(console, principal, request.path_params["app"])
    app = header.app.name
    from_id = request.query_params.get("from", "").strip()
    to_id = request.query_params.get("to", "").strip()
    console.allow(principal, Action.READ, app)
    comparison: Comparison = await console.run(compare, console.queries, app, from_id, to_id)
    context = app_context(header, "releases", comparison=comparison)
    return console.render(request, "diff.html", context, principal=principal)


routes: list[BaseRoute] = [Route("/apps/{app}/diff", diff_page, methods=["GET"])]
