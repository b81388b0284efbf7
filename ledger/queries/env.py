"""The environment: the app's env head (values masked unless revealed), its history, and
what an edit would change (a preview, keys only)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.checks import check_env_change
from ledger.commands import UpdateEnv
from ledger.domain.app import env_diff
from ledger.errors import Conflict
from ledger.policy import Principal
from ledger.queries.base import QueriesBase
from ledger.views import EnvChangeView


@dataclass(frozen=True)
class EnvState:
    """The env head of an app: its version and values (masked unless revealed)."""

    app: str
    version: int
    values: dict[str, str]  # sorted by key
    masked: bool

    @property
    def keys(self) -> list[str]:
        return list(self.values)


@dataclass(frozen=True)
class EnvPreview:
    """What applying an env edit would do, recorded nothing: the keys it adds, changes
    and removes from the head at ``version``, and whether it deploys (with
    ``command.promote`` and an active release: a release of that release's build with
    the new env, promoted) or only records the change."""

    app: str
    version: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    deploys: bool
    base_release_id: str  # the active release whose build a deploy reuses ('' none)

    @property
    def changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)


class EnvQueries(QueriesBase):
    """The env head is read from the App aggregate: the projections never hold values."""

    def env(self, principal: Principal, app: str, *, reveal: bool = False) -> EnvState:
        self.app(app)
        revealed = self.revealing(principal, app, reveal)  # refused before a value is read
        aggregate = self.ledger.app(app)
        values = self.env_values(aggregate.env, revealed)
        return EnvState(aggregate.name, aggregate.env_version, values, not revealed)

    def env_history(
        self, app: str, before_version: int = 0, limit: int = 50
    ) -> list[EnvChangeView]:
        """The app's env changes (keys only), newest first."""
        self.app(app)
        return self.reader.env_history(app, before_version, limit)

    def env_preview(self, command: UpdateEnv) -> EnvPreview:
        """What ``command`` would change, checked as UpdateEnv checks it (a bad edit and
        an edit of a version that is not the head's are refused the same way), keys only:
        admitting the edit is the caller's (the ``change_env`` rule)."""
        check_env_change(command)
        self.app(command.app)
        aggregate = self.ledger.app(command.app)
        if command.expected_version not in (None, aggregate.env_version):
            raise Conflict(
                f"env of {aggregate.name} is at version {aggregate.env_version}, "
                f"not {command.expected_version}: re-read it and try again"
            )
        after = aggregate.env_after(
            set_values=command.set_values, unset=command.unset, replace=command.replace
        )
        added, changed, removed = env_diff(aggregate.env, after)
        base = aggregate.active_release_id or ""
        return EnvPreview(
            aggregate.name, aggregate.env_version, tuple(added), tuple(changed),
            tuple(removed), command.promote and bool(base), base,
        )  # fmt: skip
