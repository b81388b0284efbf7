"""The read side's port: the queries over the read models that the projections keep.

Defined here, implemented by :mod:`projections` (the views in SQLite or PostgreSQL), used
by the read-side service (:mod:`ledger.queries`), so the application layer reads views
without knowing where they are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ledger.views import (
    ActivationView,
    AppView,
    BuildLogView,
    BuildView,
    DeliveryView,
    DeploymentView,
    EnvChangeView,
    EventView,
    JobView,
    KeyView,
    PromotionView,
    RackReleaseView,
    ReleaseView,
    WorkflowView,
)


class ReadModel(Protocol):
    """Queries over the materialised projections.

    Lists are keyset-paginated: pass the cursor of the last item of the previous page
    (``after``/``before``) and a ``limit``; the caller builds opaque page tokens.
    """

    def position(self) -> int:
        """The last log position the projections have processed."""

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Block until the projections reached ``position``; False on timeout."""

    def get_app(self, name: str) -> AppView | None: ...

    def list_apps(self, after: str = "", limit: int = 50) -> list[AppView]:
        """Apps by name, names greater than ``after``."""

    def get_release(self, release_id: str) -> ReleaseView | None: ...

    def list_releases(
        self, app: str, before_version: int = 0, limit: int = 50
    ) -> list[ReleaseView]:
        """Newest first; versions lower than ``before_version`` when it is not 0."""

    def get_build(self, build_id: str) -> BuildView | None: ...

    def list_builds(self, app: str, before_position: int = 0, limit: int = 50) -> list[BuildView]:
        """Newest first (by the position of BuildCreated)."""

    def builds_in_flight(self) -> list[BuildView]:
        """Every build not ended yet (for recording them interrupted after a crash)."""

    def build_log(self, build_id: str, after_seq: int = 0, limit: int = 100) -> list[BuildLogView]:
        """The build's output chunks with seq greater than ``after_seq``, in order."""

    def get_promotion(self, promotion_id: str) -> PromotionView | None:
        """With its steps."""

    def list_promotions(
        self, app: str, before_position: int = 0, limit: int = 50
    ) -> list[PromotionView]:
        """Newest first, without steps."""

    def list_deployments(
        self, app: str, before_position: int = 0, limit: int = 200
    ) -> list[DeploymentView]:
        """The app's promotions newest first (without steps), each with its release's
        reason and creation and its build's creation and provenance, in one read."""

    def promotions_in_flight(self) -> list[PromotionView]:
        """Every promotion whose status is not terminal (for resuming after a crash)."""

    def queued_promotions(self, app: str) -> list[str]:
        """Ids of the app's promotions waiting behind the one in flight, in order."""

    def env_history(
        self, app: str, before_version: int = 0, limit: int = 50
    ) -> list[EnvChangeView]:
        """Newest first."""

    def list_events(
        self,
        *,
        app: str = "",
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        after_position: int = 0,
        before_position: int = 0,
        newest_first: bool = False,
        limit: int = 100,
    ) -> list[EventView]:
        """Positions greater than ``after_position`` (and lower than ``before_position``
        when it is not 0), oldest first unless ``newest_first``."""

    def active_release_as_of(
        self, app: str, *, position: int = 0, time: datetime | None = None
    ) -> tuple[str, int]:
        """(release id or '', position answered at) as of a log position or a time.

        With neither, as of now. The position is the newest log position at or
        before the requested point.
        """

    def activations_until(self, app: str, position: int, limit: int = 2) -> list[ActivationView]:
        """The app's activations at or before ``position``, newest first."""

    def activation_after(self, app: str, position: int) -> ActivationView | None:
        """The app's first activation after ``position``."""

    def env_version_at(self, app: str, position: int) -> int:
        """The app's env version as of ``position`` (0: none yet)."""

    def releases_until(
        self, app: str, position: int, limit: int = 50
    ) -> tuple[list[ReleaseView], int]:
        """The app's releases created at or before ``position``, newest first (at most
        ``limit``), and how many there were in all."""

    def rack_releases(self) -> list[RackReleaseView]: ...

    def get_key(self, key_id: str) -> KeyView | None: ...

    def key_by_token_hash(self, token_hash: str) -> KeyView | None:
        """The key (revoked or not) whose token has this SHA-256, if any."""

    def list_keys(
        self, after_position: int = 0, limit: int = 50, include_revoked: bool = False
    ) -> list[KeyView]:
        """Oldest first; keys created after ``after_position``."""

    def newest_keys(
        self, before_position: int = 0, limit: int = 50, include_revoked: bool = False
    ) -> list[KeyView]:
        """Newest first; keys created before ``before_position`` (0: no bound)."""

    def active_admin_ids(self) -> list[str]: ...

    # -- workflows --------------------------------------------------------------------

    def get_workflow(self, name: str) -> WorkflowView | None:
        """A workflow (deleted ones too, marked ``deleted``)."""

    def list_workflows(self, after: str = "", limit: int = 50) -> list[WorkflowView]:
        """Live workflows by name, after ``after``."""

    def get_job(self, job_id: str) -> JobView | None:
        """A job with its steps."""

    def list_jobs(
        self, workflow: str = "", before_position: int = 0, limit: int = 50
    ) -> list[JobView]:
        """Newest first (of one workflow, or all), queued before ``before_position``
        (0: no bound); steps not included."""

    def jobs_in_flight(self) -> list[JobView]:
        """Jobs not ended (queued, running, waiting), oldest first."""

    def list_deliveries(
        self, workflow: str, before_position: int = 0, limit: int = 50
    ) -> list[DeliveryView]:
        """Deliveries a workflow accepted, newest first."""
