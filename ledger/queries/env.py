"""The environment: the app's env head (values masked unless revealed) and its history."""

from __future__ import annotations

from dataclasses import dataclass

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
