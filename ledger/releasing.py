"""Steps the release use cases share: a new release of an app, a promotion of it begun.

Apart from :class:`~ledger.service.LedgerService` because env changes and rollbacks both
create a release and (like a promote) begin or queue its promotion: these steps change
only the aggregates they are given, which the caller then saves in one transaction.
"""

from __future__ import annotations

from ledger.domain import App, Meta, Promotion, Release
from ledger.errors import FailedPrecondition
from ledger.ids import PROMOTION, RELEASE, new_id


def new_release(app: App, meta: Meta, **fields: object) -> Release:
    """The app's next release, registered with the app; ``fields`` say what it runs."""
    release_id = new_id(RELEASE)
    version = app.next_release_version()
    app.register_release(meta, release_id, version)
    return Release.create(
        meta,
        app=app.name,
        release_id=release_id,
        release_version=version,
        **fields,  # type: ignore[arg-type]
    )


def begin_promotion(
    app: App,
    meta: Meta,
    release: Release,
    deadline: int,
    description: str,
    queue: bool = False,
) -> Promotion:
    """Begin now, or (``queue`` and one in flight) queue behind the one in flight.

    A queued promotion learns the release it replaces when its turn comes.
    """
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
    return promotion


def check_no_promotion(app: App) -> None:
    """Refuse when a promotion of ``app`` is in flight (a command not asked to queue)."""
    if app.promotion_id:
        raise FailedPrecondition(
            f"promotion {app.promotion_id} of {app.name} is in flight: "
            "wait for it to end or cancel it"
        )
