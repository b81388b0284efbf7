"""When a workflow's automatic promotion of an app pauses, and when it resumes.

The most reported pain of auto-deploy tools: someone rolls back a bad release, and the
next sync deploys the bad version again. Here, for an app a workflow deploys:

- a promotion that **failed** (and was rolled back automatically), a **rollback**, and a
  promotion by hand of a release **older** than the newest one pause automatic promotion:
  later pushes still build and create releases, but do not promote them;
- a person promoting the **newest** release by hand, or ``workflows resume``, resumes it.

Env changes promoted by hand neither pause nor resume (they change the env of what
runs, whatever it is). The pause, its reason and the resume are events of the App, so
they are recorded in the transaction that decided them. :mod:`ledger.lifecycle` asks
this module at each of those moments; the workflow runner asks :func:`may_promote`.
"""

from __future__ import annotations

from ledger.domain import App, Meta, Promotion, Release, ReleaseReason


def may_promote(app: App) -> bool:
    """Whether a workflow may promote ``app`` automatically now."""
    return not app.auto_promotion_paused and not app.archived


def after_failure(app: App, promotion: Promotion, meta: Meta) -> None:
    """A promotion failed: the runtime rolls back to the release that ran before it."""
    if app.auto_deployed:
        reason = f"promotion {promotion.promotion_id} failed and was rolled back"
        app.pause_auto_promotion(meta, reason)


def after_rollback(app: App, target: Release, meta: Meta) -> None:
    if app.auto_deployed:
        app.pause_auto_promotion(meta, f"rolled back to v{target.release_version} by {meta.actor}")


def after_promotion_by_hand(app: App, release: Release, meta: Meta) -> None:
    """A person promoted ``release`` (a rollback's copy is :func:`after_rollback`'s)."""
    if not app.auto_deployed or release.reason != ReleaseReason.BUILD:
        return
    newest = app.release_count
    if release.release_version < newest:
        reason = f"v{release.release_version}, older than v{newest}, promoted by {meta.actor}"
        app.pause_auto_promotion(meta, reason)
    else:
        app.resume_auto_promotion(meta, f"v{release.release_version} promoted by {meta.actor}")


def resume(app: App, meta: Meta) -> bool:
    """``workflows resume``: False when it was not paused."""
    return app.resume_auto_promotion(meta, f"resumed by {meta.actor}")
