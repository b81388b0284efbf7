"""Where an app's tasks run: the one question the runtime answers rather than the log.

The log records what was promoted; only the runtime knows what runs now (a replica may
have died since its rollout, another may be starting), so this query asks the runtime
port, live, and records nothing. Its rules are those of every read of an app: the app
must exist (NOT_FOUND, before the runtime is asked), and the key must be allowed the
policy's ``read`` action on it, which each entry point asks before the query runs (the
gRPC method table, the console's app pages), as for the app's releases.
"""

from __future__ import annotations

from ledger.queries.base import QueriesBase
from ledger.runtime import TaskPlacement


class TaskQueries(QueriesBase):
    """What runs, as ``ListTasks`` (``ledgerctl ps``) and the console's Tasks tab see it."""

    def tasks(self, app: str) -> list[TaskPlacement]:
        """Where ``app``'s tasks run now, by service, then slot, newest first (see
        :meth:`~ledger.runtime.Runtime.tasks`). INVALID_ARGUMENT for a malformed name,
        NOT_FOUND for an unknown app, UNAVAILABLE when the runtime cannot be reached.
        Blocks on the runtime's engine: entry points run it off their event loop."""
        view = self.app(app)
        if self.runtime is None:
            return []
        return self.runtime.tasks(view.name)
