"""Review apps: a temporary app per pull request, ``APP-pr-N``.

Opened (or reopened): the app is created with the workflow's review env (never copied
from the production app) or restored from its archive, then built and promoted like any
job's app. Closed or merged: its containers are stopped and the app is archived; its
history stays in the log and readable, and a reopened pull request restores it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.application import Decision
from ledger.commands import Outcome
from ledger.domain import App, Meta, Workflow

if TYPE_CHECKING:
    from ledger.workflows.steps import JobSteps


def open_app(steps: JobSteps, workflow: Workflow, name: str, meta: Meta) -> str:
    """Create or restore the review app; what was done, in words."""
    ledger = steps.ledger
    done: list[str] = []

    def handle() -> Decision:
        done.clear()
        if not ledger.exists(App.create_id(name)):
            app = App.create(name, meta)
            env = dict(workflow.settings.review_env)
            if env:
                app.change_env(
                    meta,
                    set_values=env,
                    unset=[],
                    replace=False,
                    expected_version=None,
                    description=f"review env of workflow {workflow.name}",
                )
            done.append(f"created {name}")
            return Decision(Outcome(app=name), (app,))
        app = ledger.app(name)
        if app.archived:
            app.restore(meta, f"pull request reopened (workflow {workflow.name})")
            done.append(f"restored {name}")
        return Decision(Outcome(app=name), (app,))

    ledger.execute("OpenReviewApp", name, meta, handle, name)
    return done[0] if done else f"{name} exists"


def close_app(steps: JobSteps, name: str, meta: Meta) -> str:
    """Stop what runs for the review app and archive it."""
    ledger = steps.ledger
    if not ledger.exists(App.create_id(name)):
        return f"{name} was never created"
    steps.builder.runtime.stop_app(name)

    def handle() -> Decision:
        app = ledger.app(name)
        app.archive(meta, "pull request closed")
        return Decision(Outcome(app=name), (app,))

    ledger.execute("ArchiveReviewApp", name, meta, handle, name)
    return f"stopped and archived {name}"
