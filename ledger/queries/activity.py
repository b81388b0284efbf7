"""Builds (with their logs) and promotions (with their steps) of an app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger.ids import BUILD, PROMOTION
from ledger.queries.base import QueriesBase
from ledger.views import BuildLogView, BuildView, PromotionView

ENDED = frozenset({"succeeded", "failed"})
LOG_PAGE = 500


@dataclass(frozen=True)
class BuildLog:
    """A build as read just before the chunks of its log after some seq."""

    build: BuildView
    chunks: list[BuildLogView]
    after: int  # the seq of the last chunk read: where following resumes

    @property
    def ended(self) -> bool:
        return self.build.status in ENDED

    @property
    def from_image(self) -> bool:
        """A build of an existing image ran nothing: its log is one status line."""
        return self.build.source.startswith("image:")

    @property
    def status_line(self) -> str:
        line = f"build {self.build.id} of image {self.build.image} {self.build.status}"
        return line + (f": {self.build.error}" if self.build.error else "") + "\n"


class ActivityQueries(QueriesBase):
    """What happened to an app: its builds and its promotions."""

    def build(self, app: str, build_id: str) -> BuildView:
        """The build ``build_id``, which must belong to ``app`` when one is given."""
        return self.owned_view(BUILD, self.reader.get_build, app, build_id)

    def builds(self, app: str, before_position: int = 0, limit: int = 50) -> list[BuildView]:
        """The app's builds, newest first."""
        self.app(app)
        return self.reader.list_builds(app, before_position, limit)

    def build_log(
        self, app: str, build_id: str, after: int = 0, *, limit: int | None = None
    ) -> BuildLog:
        """The build, then the chunks of its log after ``after``: all of them, or at most
        ``limit``. The status is read *before* the log, so a build seen ended had all of
        its log projected already and the read misses nothing."""
        build = self.build(app, build_id)
        chunks: list[BuildLogView] = []
        while limit is None or len(chunks) < limit:
            wanted = LOG_PAGE if limit is None else min(limit - len(chunks), LOG_PAGE)
            page = self.reader.build_log(build.id, after, wanted)
            chunks.extend(page)
            if page:
                after = page[-1].seq
            if len(page) < wanted:
                break
        return BuildLog(build, chunks, after)

    def promotion(self, app: str, promotion_id: str) -> PromotionView:
        """The promotion with its steps; it must belong to ``app`` when one is given."""
        return self.owned_view(PROMOTION, self.reader.get_promotion, app, promotion_id)

    def promotion_releases(self, promotion_ids: Iterable[str]) -> dict[str, str]:
        """The release each promotion promotes ('' for an unknown id)."""
        found: dict[str, str] = {}
        for promotion_id in promotion_ids:
            if promotion_id and promotion_id not in found:
                view = self.reader.get_promotion(promotion_id)
                found[promotion_id] = view.release_id if view is not None else ""
        return found

    def promotions(
        self, app: str, before_position: int = 0, limit: int = 50
    ) -> list[PromotionView]:
        """The app's promotions, newest first, without their steps."""
        self.app(app)
        return self.reader.list_promotions(app, before_position, limit)
