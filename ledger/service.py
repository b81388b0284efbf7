"""Use cases of apps, env, releases and promotions: where those commands become events.

:class:`LedgerService` is what every entry point (gRPC API, web console) calls. It
validates input, loads the aggregates, asks :mod:`ledger.lifecycle` for the release and
promotion steps (the rules live there), saves through
:class:`~ledger.application.LedgerApplication` and hands new promotions to a
:class:`PromotionDriver` (the :class:`~ledger.promoter.Promoter`). Builds have their own
use cases (:class:`~ledger.building.BuildService`). The checks of a command's fields are
in :mod:`ledger.checks`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from ledger import lifecycle, releasing
from ledger.application import Decision, LedgerApplication
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
from ledger.domain import App, Meta, Rack
from ledger.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from ledger.ids import check_app_name
from ledger.runtime import Runtime
from ledger.schema import LOG_SCHEMA


class PromotionDriver(Protocol):
    """What the use cases need of whatever runs promotions (the Promoter): the use cases
    record a promotion, the driver runs it in the background."""

    def submit(self, promotion_id: str) -> object:
        """Run a promotion begun (not queued) until it settles."""

    def cancel(self, promotion_id: str) -> None:
        """Tell a running promotion its cancel was requested (it stops sooner)."""


class LedgerService:
    """Commands of the ledger, each atomic and idempotent by request id."""

    def __init__(
        self,
        app: LedgerApplication,
        runtime: Runtime,
        promoter: PromotionDriver,
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

        def handle() -> Decision:
            if self.ledger.exists(App.create_id(command.name)):
                raise AlreadyExists(f"app {command.name} already exists")
            app = App.create(command.name, meta)
            app.change_deadline(meta, command.deadline_seconds)
            return Decision(Outcome(app=command.name), (app,))

        return self.ledger.execute("CreateApp", command, meta, handle, command.name)

    def update_app(self, command: UpdateApp, meta: Meta) -> Outcome:
        """Change an app's settings (its promotion deadline); nothing recorded if unchanged."""
        check_deadline(command.deadline_seconds)

        def handle() -> Decision:
            app = self.ledger.app(command.name)
            app.change_deadline(meta, command.deadline_seconds)
            return Decision(Outcome(app=app.name), (app,))

        return self.ledger.execute("UpdateApp", command, meta, handle, command.name)

    # -- environment ------------------------------------------------------------

    def update_env(self, command: UpdateEnv, meta: Meta) -> Outcome:
        """Change the env head; with a release to base on, create a release (and promote it).

        The release is of the base's build (default: the active release) with the new head.
        """
        check_env_change(command)
        check_deadline(command.deadline_seconds)

        def handle() -> Decision:
            app = self.ledger.app(command.app)
            base_id = command.base_release_id or app.active_release_id
            base = self.ledger.release(app.name, base_id) if base_id else None
            if command.promote and base is None:
                raise FailedPrecondition(
                    f"app {app.name} has no active release to apply the change to: "
                    "name a base release or drop --promote"
                )
            if command.promote:
                lifecycle.check_can_begin(app)
            event = app.change_env(
                meta,
                set_values=dict(command.set_values),
                unset=list(command.unset),
                replace=command.replace,
                expected_version=command.expected_version,
                description=command.description,
            )
            outcome = Outcome(app=app.name, env_version=app.env_version)
            if event is None:
                return Decision(outcome)
            outcome = replace(
                outcome,
                added=tuple(event.added),
                changed=tuple(event.changed),
                removed=tuple(event.removed),
            )
            if base is None:
                return Decision(outcome, (app,))
            released = releasing.release_env_change(app, base, meta, command.description)
            outcome = replace(outcome, release_id=released.release.release_id)
            if not command.promote:
                return Decision(outcome, (app, *released.changed))
            begun = lifecycle.begin(
                app,
                meta,
                released.release,
                deadline=self._deadline(command.deadline_seconds, app),
                description=command.description,
            )
            outcome = replace(outcome, promotion_id=begun.promotion.promotion_id)
            return Decision(outcome, (app, *released.changed, *begun.changed))

        return self._promoting(self.ledger.execute("UpdateEnv", command, meta, handle, command.app))

    # -- promotions -------------------------------------------------------------

    def promote(self, command: PromoteRelease, meta: Meta) -> Outcome:
        """Start making a release (default: the newest) the active one."""
        check_text("description", command.description)
        check_deadline(command.deadline_seconds)

        def handle() -> Decision:
            app = self.ledger.app(command.app)
            release_id = command.release_id or app.latest_release_id
            if not release_id:
                raise FailedPrecondition(f"app {app.name} has no release to promote")
            release = self.ledger.release(app.name, release_id)
            begun = lifecycle.begin(
                app,
                meta,
                release,
                deadline=self._deadline(command.deadline_seconds, app),
                description=command.description,
                queue=command.queue,
                automatic=command.automatic,
            )
            return Decision(_promotion_outcome(app, begun), begun.changed)

        return self._promoting(
            self.ledger.execute("PromoteRelease", command, meta, handle, command.app)
        )

    def rollback(self, command: RollbackRelease, meta: Meta) -> Outcome:
        """Roll back to a release (see :func:`ledger.lifecycle.roll_back`)."""
        check_text("description", command.description)
        check_deadline(command.deadline_seconds)

        def handle() -> Decision:
            app = self.ledger.app(command.app)
            target = self.ledger.release(app.name, command.release_id)
            begun = lifecycle.roll_back(
                app,
                meta,
                target,
                deadline=self._deadline(command.deadline_seconds, app),
                description=command.description,
                queue=command.queue,
            )
            return Decision(_promotion_outcome(app, begun), begun.changed)

        return self._promoting(
            self.ledger.execute("RollbackRelease", command, meta, handle, command.app)
        )

    def cancel(self, command: CancelPromotion, meta: Meta) -> Outcome:
        """Cancel a pending promotion at once; ask a running one to stop and roll back."""

        def handle() -> Decision:
            app = self.ledger.app(command.app)
            promotion = self.ledger.promotion(app.name, command.promotion_id)
            changes = lifecycle.cancel(self.ledger, app, promotion, meta)
            outcome = Outcome(
                app=app.name,
                promotion_id=promotion.promotion_id,
                release_id=promotion.release_id,
                next_promotion_id=changes.next_promotion_id,
            )
            return Decision(outcome, changes.changed)

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

        def handle() -> Decision:
            rack = self.ledger.rack() or Rack(app="", actor=meta.actor, request_id=meta.request_id)
            rack.start_version(meta, version, LOG_SCHEMA)
            return Decision(Outcome(app=""), (rack,))

        return self.ledger.execute("RecordRackVersion", version, meta, handle)

    # -- helpers ----------------------------------------------------------------

    def _deadline(self, seconds: int, app: App) -> int:
        return lifecycle.deadline_of(seconds, app, self.default_deadline)

    def _promoting(self, outcome: Outcome) -> Outcome:
        if outcome.promotion_id and not outcome.queued:
            self.promoter.submit(outcome.promotion_id)
        return outcome


def _promotion_outcome(app: App, begun: lifecycle.Begun) -> Outcome:
    promotion = begun.promotion
    return Outcome(
        app=app.name,
        release_id=promotion.release_id,
        promotion_id=promotion.promotion_id,
        queued=promotion.queued,
    )
