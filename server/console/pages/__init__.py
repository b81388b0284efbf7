"""The console's pages, one module per area; each exposes ``routes``."""

from __future__ import annotations

from server.console.pages import (
    apps,
    builds,
    env,
    history,
    keys,
    live,
    promotions,
    releases,
    session,
)

PAGES = (session, apps, releases, builds, env, promotions, history, keys, live)
