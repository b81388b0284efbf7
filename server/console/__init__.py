"""The web console: server-rendered pages on their own port (``LEDGER_CONSOLE_LISTEN``).

An entry point beside the gRPC API, never a second copy of its rules: pages ask the same
read side (:mod:`ledger.queries`), commands go through the same use cases
(:class:`ledger.service.LedgerService`, :class:`ledger.building.BuildService`) with the
same read-your-writes wait, and every action is admitted by the same policy
(:mod:`ledger.policy`), asked for the action the page or button stands for.
People sign in with a deploy key's token (:mod:`server.console.sessions`); forms carry a
CSRF token (asgi-csrf). JavaScript is htmx, vendored under ``static/``, for confirmations,
fragments and live updates pushed from the event stream (server-sent events).

Layout: ``context`` (what handlers share), ``sessions``, ``errors`` (the one boundary
mapping ledger errors to pages), ``app`` (routes and middleware), ``server`` (Hypercorn on
the ledgerd event loop), ``pages/`` (one module per tab), ``templates/``, ``static/``.
"""
