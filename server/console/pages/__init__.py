"""The console's pages, one module per area; each exposes ``routes``."""

from __future__ import annotations

from server.console.pages import (
    apps,
    builds,
    dora,
    env,
    history,
    jobs,
    keys,
    live,
    promotions,
    releases,
    session,
    tasks,
    workflow_actions,
    workflows,
)

PAGES = (
    session,
    apps,
    releases,
    tasks,
    builds,
    env,
    promotions,
    history,
    keys,
    workflows,
    workflow_actions,
    jobs,
    dora,
    live,
)
