"""Deploy keys as listed (never a token, nor a token's hash)."""

from __future__ import annotations

from ledger.errors import NotFound
from ledger.queries.base import QueriesBase
from ledger.views import KeyView


class KeyQueries(QueriesBase):
    """The keys of the ledger, for key management."""

    def key(self, key_id: str) -> KeyView:
        view = self.reader.get_key(key_id)
        if view is None:
            raise NotFound(f"key {key_id} not found")
        return view

    def keys(
        self, after_position: int = 0, limit: int = 50, include_revoked: bool = False
    ) -> list[KeyView]:
        """Oldest first; keys created after ``after_position``."""
        return self.reader.list_keys(after_position, limit, include_revoked)

    def newest_keys(
        self, before_position: int = 0, limit: int = 50, include_revoked: bool = False
    ) -> list[KeyView]:
        """Newest first; keys created before ``before_position`` (0: no bound)."""
        return self.reader.newest_keys(before_position, limit, include_revoked)
