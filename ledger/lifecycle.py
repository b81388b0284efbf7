"""The promotion lifecycle: every rule of how a release is made, and made active.

Here: beginning a promotion or queueing it behind the one in flight, THE rule that decides
promote or roll back once the runtime has rolled out (:func:`finish_rollout`), settling,
beginning the next queued promotion, cancelling, and the app's env head following the
release made active. The releases a promotion makes active are created in
:mod:`ledger.releasing`, the one place a release is created.

Each function is one domain step over the App, Release, Promotion (and Build)
aggregates: it changes only those it is given or loads, and returns them for the caller
to save in ONE transaction. Nothing here runs a thread or calls the runtime: the use
cases (:mod:`ledger.service`, :mod:`ledger.building`) and the
:class:`~ledger.promoter.Promoter` (worker threads, claims, runtime calls) ask this
module for every transition, so no rule is written twice. A promotion's states (a
queued one stays pending until the one in flight settles)::

    pending → running → succeeded
                      ↘ failed → rolling_back → rolled_back | rollback_failed
    pending | running → cancelled
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eventsourcing.domain import Aggregate

from ledger import autopromote, releasing
from ledger.domain import (
    App,
    Cause,
    CauseKind,
    Meta,
    Promotion,
    PromotionStatus,
    Release,
    StepKind,
)
from ledger.ids import PROMOTION, new_id


class Store(Protocol):
    """Where the lifecycle loads the aggregates it was not given (the ledger application)."""

    def app(self, name: str) -> App: ...

    def release(self, app: str, release_id: str) -> Release: ...

    def promotion(self, app: str, promotion_id: str) -> Promotion: ...


@dataclass(frozen=True)
class Begun:
    """A promotion begun (or queued), and every aggregate changed to begin it."""

    promotion: Promotion
    changed: tuple[Aggregate, ...]


@dataclass(frozen=True)
class Changes:
    """The aggregates a step changed, and the queued promotion that began because the
    promotion in flight settled ('' when none): the promoter must then run it."""

    changed: tuple[Aggregate, ...]
    next_promotion_id: str = ""


# -- beginning ----------------------------------------------------------------------------


def check_can_begin(app: App, queue: bool = False) -> None:
    """Refuse, before anything is changed, a promotion that could neither begin nor queue."""
    if not queue:
        app.check_no_promotion()


def begin(
    app: App,
    meta: Meta,
    release: Release,
    *,
    deadline: int,
    description: str,
    queue: bool = False,
    automatic: bool = False,
) -> Begun:
    """Begin a promotion of ``release`` now; with ``queue``, queue it behind the one in
    flight if there is one. Without ``queue`` a promotion in flight refuses it (the App's
    invariant). A queued promotion learns the release it replaces when its turn comes.

    ``automatic``: a workflow promotes; otherwise a person did, which may pause or resume
    the app's automatic promotion (:mod:`ledger.autopromote`)."""
    app.check_not_archived()
    queued = queue and bool(app.promotion_id)
    promotion = Promotion.request(
        meta,
        app=app.name,
        promotion_id=new_id(PROMOTION),
        release_id=release.release_id,
        previous_release_id="" if queued else app.active_release_id,
        deadline_seconds=deadline,
        description=description,
        queued=queued,
    )
    if queued:
        app.queue_promotion(meta, promotion.promotion_id, release.release_id)
    else:
        app.begin_promotion(meta, promotion.promotion_id, release.release_id)
    if not automatic:
        autopromote.after_promotion_by_hand(app, release, meta)
    return Begun(promotion, (promotion, app))


def roll_back(
    app: App,
    meta: Meta,
    target: Release,
    *,
    deadline: int,
    description: str = "",
    queue: bool = False,
) -> Begun:
    """Roll back to ``target``: a new release copying it (its build, env and env version;
    parent ``target``) and a promotion of that copy. Newer releases stay as they are,
    promotable again (rolling forward is promoting one of them). The env head is left
    alone now: like every promotion's, it follows the copy when the copy goes live."""
    description = description or f"rollback to v{target.release_version}"
    released = releasing.release_rollback(app, target, meta, description)
    begun = begin(
        app, meta, released.release, deadline=deadline, description=description, queue=queue
    )
    autopromote.after_rollback(app, target, meta)
    return Begun(begun.promotion, (*released.changed, *begun.changed))


def deadline_of(seconds: int, app: App, default: int) -> int:
    """A promotion's deadline: its own (``seconds``), else the app's, else the server's."""
    return seconds or app.deadline_seconds or default


def start(promotion: Promotion, meta: Meta) -> Changes:
    """The promoter takes a pending promotion: it is running from now on."""
    promotion.start(meta)
    return Changes((promotion,))


def record_step(promotion: Promotion, meta: Meta, kind: StepKind, message: str) -> Changes:
    """A step the runtime reported while rolling out or restoring."""
    promotion.record_step(meta, kind, message)
    return Changes((promotion,))


# -- the rule: promote or roll back ------------------------------------------------------


def finish_rollout(store: Store, promotion: Promotion, meta: Meta, cause: Cause | None) -> Changes:
    """Record how the runtime's rollout ended: THE rule that decides promote or roll back.

    No cause: the promotion succeeded; its release is made active and the app's env head
    follows it, the promotion settles and the next queued one begins. A cause: the
    promotion failed and is rolling back; the promoter restores the previous release and
    then asks :func:`finish_rollback`. (A cancelled rollout is not for here: the promoter
    restores the previous release, then asks :func:`finish_cancel`.)
    """
    if cause is not None:
        promotion.fail(meta, cause)
        promotion.start_rollback(meta)
        app = store.app(promotion.app)
        autopromote.after_failure(app, promotion, meta)
        return Changes((promotion, app))
    promotion.succeed(meta)
    app = store.app(promotion.app)
    release = store.release(promotion.app, promotion.release_id)
    app.activate(meta, promotion.promotion_id, release.release_id)
    _follow_env(app, release, promotion, meta)
    return _settle(store, app, promotion, meta)


def _follow_env(app: App, release: Release, promotion: Promotion, meta: Meta) -> None:
    """The env head follows what runs: it becomes the env of the release made active.

    So the next env edit builds on the values running now, not on values rolled back
    from or never made active. Recorded in the transaction of the activation, so a
    promotion that fails leaves the head alone; nothing is recorded when they are equal.
    """
    description = f"v{release.release_version} made active by promotion {promotion.promotion_id}"
    app.follow_env(meta, release.env, description)


def start_rollback(promotion: Promotion, meta: Meta) -> Changes:
    """A failed promotion (found so after a restart) starts rolling back."""
    promotion.start_rollback(meta)
    return Changes((promotion,))


def finish_rollback(store: Store, promotion: Promotion, meta: Meta, cause: Cause | None) -> Changes:
    """The previous release is restored (rolled back) or could not be (``cause``): the
    promotion settles and the next queued one begins. The env head is left alone."""
    promotion.finish_rollback(meta, cause)
    return _settle(store, store.app(promotion.app), promotion, meta)


# -- cancelling ---------------------------------------------------------------------------


def cancel(store: Store, app: App, promotion: Promotion, meta: Meta) -> Changes:
    """A person cancels a promotion.

    A pending one (queued, or not yet taken by the promoter) is cancelled and settled at
    once, and the next queued one begins. A running one is asked to stop: the promoter
    sees the request, restores the previous release and asks :func:`finish_cancel`.
    """
    if promotion.status != PromotionStatus.PENDING:
        promotion.request_cancel(meta)
        return Changes((promotion,))
    promotion.cancel(meta, Cause(CauseKind.CANCELLED, f"cancelled by {meta.actor}"))
    return _settle(store, app, promotion, meta)


def finish_cancel(
    store: Store, promotion: Promotion, meta: Meta, restore_cause: Cause | None
) -> Changes:
    """A running promotion asked to stop is cancelled, once the previous release is
    restored (or could not be: ``restore_cause``); the next queued one begins."""
    message = "cancelled"
    if restore_cause is not None:
        message += f"; restoring the previous release failed: {restore_cause.message}"
    promotion.cancel(meta, Cause(CauseKind.CANCELLED, message))
    return _settle(store, store.app(promotion.app), promotion, meta)


# -- settling -----------------------------------------------------------------------------


def _settle(store: Store, app: App, promotion: Promotion, meta: Meta) -> Changes:
    """The promotion ended (in ``promotion.status``): the app has none in flight any more,
    so the first queued promotion begins in the same transaction."""
    app.settle_promotion(meta, promotion.promotion_id, promotion.status)
    following = _begin_next_queued(store, app, meta)
    if following is None:
        return Changes((promotion, app))
    return Changes((promotion, app, following), following.promotion_id)


def _begin_next_queued(store: Store, app: App, meta: Meta) -> Promotion | None:
    """When no promotion is in flight, begin the first queued one; it replaces the
    release active at this moment."""
    promotion_id = app.next_queued
    if not promotion_id:
        return None
    promotion = store.promotion(app.name, promotion_id)
    promotion.dequeue(meta, previous_release_id=app.active_release_id)
    app.begin_promotion(meta, promotion_id, promotion.release_id)
    return promotion
