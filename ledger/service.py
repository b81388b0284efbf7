"""Use cases of apps, env, releases and promotions: where those commands become events.

:class:`LedgerService` is what every entry point (gRPC API, web console) calls. It
validates input, lets the aggregates decide, saves through
:class:`~ledger.application.LedgerApplication` and hands new promotions to the
:class:`~ledger.promoter.Promoter`. Builds have their own use cases
(:class:`~ledger.building.BuildService`). The checks of a command's fields are in
:mod:`ledger.checks`; the release and promotion steps several use cases share are in
:mod:`ledger.releasing`.
"""

from __future__ import annotations

from dataclasses import replace

from eventsourcing.domain import Aggregate

from ledger.application import LedgerApplication
from ledger.checks import check_deadline, check_env_change, check_text
from ledger.commands import (
    CancelPromotion,
    CreateApp,
    Outcome,
    PromoteRelease,
    RollbackRelease,
    UpdateApp,
    UpdateEnv,
)
from ledger.domain import App, Cause, CauseKind, Meta, Rack, ReleaseReason
from ledger.domain.promotion import PromotionStatus
from ledger.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from ledger.ids import check_app_name
from ledger.promoter import Promoter, begin_next_queued
from ledger.releasing import begin_promotion, check_no_promotion, new_release
from ledger.runtime import Runtime


class LedgerService:
    """Commands of the ledger, each atomic and idempotent by request id."""

    def __init__(
        self,
        app: LedgerApplication,
        runtime: Runtime,
        promoter: Promoter,
        default_deadline: int = 600,
    ) -> None:
        self.ledger = app
        self.runtime = runtime
        self.promoter = promoter
        self.default_deadline = default_deadline

    # -- apps -------------------------------------------------------------------

    def create_app(self, command: CreateApp, meta: Meta) -> Outcome:
        check_app_name(command.name)
        check_deadline(command.deadline_seconds)

        def handle(changed: list[Aggregate]) -> Outcome:
            if self.ledger.exists(App.create_id(command.name)):
                raise AlreadyExists(f"app {command.name} already exists")
            app = App.create(command.name, meta)
            app.change_deadline(meta, command.deadline_seconds)
            changed.append(app)
            return Outcome(app=command.name)

        return self.ledger.execute("CreateApp", command, meta, handle, command.name)

    def update_app(self, command: UpdateApp, meta: Meta) -> Outcome:
        """Change an app's settings (its promotion deadline); nothing recorded if unchanged."""
        check_deadline(command.deadline_seconds)

        def handle(changed: list[Aggregate]) -> Outcome:
            app = self.ledger.app(command.name)
            if app.change_deadline(meta, command.deadline_seconds):
                changed.append(app)
            return Outcome(app=app.name)

        return self.ledger.execute("UpdateApp", command, meta, handle, command.name)

    # -- environment ------------------------------------------------------------

    def update_env(self, command: UpdateEnv, meta: Meta) -> Outcome:
        """Change the env; with a release to base on, create a release (and promote it)."""
        check_env_change(command)
        check_deadline(command.deadline_seconds)

        def handle(changed: list[Aggregate]) -> Outcome:
            app = self.ledger.app(command.app)
            base_id = command.base_release_id or app.active_release_id
            base = self.ledger.release(app.name, base_id) if base_id else None
            if command.promote and base is None:
                raise FailedPrecondition(
                    f"app {app.name} has no active release to apply the change to: "
                    "name a base release or drop --promote"
                )
            if command.promote:
                check_no_promotion(app)
            event = app.change_env(
                meta,
                set_values=dict(command.set_values),
                unset=list(command.unset),
                replace=command.replace,
                expected_version=command.expected_version,
                description=command.description,
            )
            if event is None:
                return Outcome(app=app.name, env_version=app.env_version)
            outcome = Outcome(
                app=app.name,
                env_version=app.env_version,
                added=tuple(event.added),
                changed=tuple(event.changed),
                removed=tuple(event.removed),
            )
            changed.append(app)
            if base is None:
                return outcome
            release = new_release(
                app,
                meta,
                build_id=base.build_id,
                image=base.image,
                env=app.env,
                env_version=app.env_version,
                reason=ReleaseReason.ENV,
                parent_id=base.release_id,
                description=command.description,
                manifest=base.manifest,
                images=base.images,
            )
            changed.append(release)
            promotion_id = ""
            if command.promote:
                deadline = self._deadline(command.deadline_seconds, app)
                promotion = begin_promotion(app, meta, release, deadline, command.description)
                changed.append(promotion)
                promotion_id = promotion.promotion_id
            return replace(outcome, release_id=release.release_id, promotion_id=promotion_id)

        return self._promoting(self.ledger.execute("UpdateEnv", command, meta, handle, command.app))

    # -- promotions -------------------------------------------------------------

    def promote(self, command: PromoteRelease, meta: Meta) -> Outcome:
        """Start making a release (default: the newest) the active one."""
        check_text("description", command.description)
        check_deadline(command.deadline_seconds)

        def handle(changed: list[Aggregate]) -> Outcome:
            app = self.ledger.app(command.app)
            release_id = command.release_id or app.latest_release_id
            if not release_id:
                raise FailedPrecondition(f"app {app.name} has no release to promote")
            release = self.ledger.release(app.name, release_id)
            if not command.queue:
                check_no_promotion(app)
            deadline = self._deadline(command.deadline_seconds, app)
            promotion = begin_promotion(
                app, meta, release, deadline, command.description, queue=command.queue
            )
            changed.extend([promotion, app])
            return Outcome(
                app=app.name,
                release_id=release_id,
                promotion_id=promotion.promotion_id,
                queued=promotion.queued,
            )

        return self._promoting(
            self.ledger.execute("PromoteRelease", command, meta, handle, command.app)
        )

    def rollback(self, command: RollbackRelease, meta: Meta) -> Outcome:
        """New release copying the target's build and env (parent = target), promoted.

        The app's env head follows the target's env, so a later env change builds on
        what is running rather than reviving the values rolled back from.
        """
        check_text("description", command.description)
        check_deadline(command.deadline_seconds)

        def handle(changed: list[Aggregate]) -> Outcome:
            app = self.ledger.app(command.app)
            target = self.ledger.release(app.name, command.release_id)
            if not command.queue:
                check_no_promotion(app)
            deadline = self._deadline(command.deadline_seconds, app)
            description = command.description or f"rollback to v{target.release_version}"
            app.change_env(
                meta,
                set_values=dict(target.env),
                unset=[],
                replace=True,
                expected_version=None,
                description=description,
            )
            release = new_release(
                app,
                meta,
                build_id=target.build_id,
                image=target.image,
                env=target.env,
                env_version=app.env_version,
                reason=ReleaseReason.ROLLBACK,
                parent_id=target.release_id,
                description=description,
                manifest=target.manifest,
                images=target.images,
            )
            promotion = begin_promotion(
                app, meta, release, deadline, description, queue=command.queue
            )
            changed.extend([app, release, promotion])
            return Outcome(
                app=app.name,
                release_id=release.release_id,
                promotion_id=promotion.promotion_id,
                queued=promotion.queued,
                env_version=app.env_version,
            )

        return self._promoting(
            self.ledger.execute("RollbackRelease", command, meta, handle, command.app)
        )

    def cancel(self, command: CancelPromotion, meta: Meta) -> Outcome:
        """Cancel a pending promotion at once; ask a running one to stop and roll back."""

        def handle(changed: list[Aggregate]) -> Outcome:
            app = self.ledger.app(command.app)
            promotion = self.ledger.promotion(app.name, command.promotion_id)
            next_id = ""
            if promotion.status == PromotionStatus.PENDING:
                promotion.cancel(meta, Cause(CauseKind.CANCELLED, f"cancelled by {meta.actor}"))
                app.settle_promotion(meta, promotion.promotion_id, PromotionStatus.CANCELLED)
                changed.extend([promotion, app])
                following = begin_next_queued(self.ledger, app, meta)
                if following is not None:
                    changed.append(following)
                    next_id = following.promotion_id
            else:
                promotion.request_cancel(meta)
                changed.append(promotion)
            return Outcome(
                app=app.name,
                promotion_id=promotion.promotion_id,
                release_id=promotion.release_id,
                next_promotion_id=next_id,
            )

        outcome = self.ledger.execute("CancelPromotion", command, meta, handle, command.app)
        self.promoter.cancel(outcome.promotion_id)
        if outcome.next_promotion_id:
            self.promoter.submit(outcome.next_promotion_id)
        return outcome

    # -- rack -------------------------------------------------------------------

    def record_rack_version(self, version: str, meta: Meta) -> Outcome:
        """Record the server version a ``ledgerd`` starts with; nothing if unchanged."""
        if not version or len(version) > 100:
            raise InvalidArgument("a rack version is 1-100 characters")

        def handle(changed: list[Aggregate]) -> Outcome:
            rack = self.ledger.rack() or Rack(app="", actor=meta.actor, request_id=meta.request_id)
            if rack.start_version(meta, version):
                changed.append(rack)
            return Outcome(app="")

        return self.ledger.execute("RecordRackVersion", version, meta, handle)

    # -- helpers ----------------------------------------------------------------

    def _deadline(self, seconds: int, app: App) -> int:
        """The promotion's own deadline, else the app's, else the server's default."""
        return seconds or app.deadline_seconds or self.default_deadline

    def _promoting(self, outcome: Outcome) -> Outcome:
        if outcome.promotion_id and not outcome.queued:
            self.promoter.submit(outcome.promotion_id)
        return outcome
