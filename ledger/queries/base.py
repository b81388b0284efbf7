"""What every part of the read side shares: the read model, the values, and two rules.

The read model (:mod:`ledger.read_model`) holds views without secrets; env values are read
from the aggregates (``App.env``, ``Release.env``) only when a query needs them, and leave
masked unless revealed. The two rules each query applies itself: the belongs-to-app rule
(:mod:`ledger.ownership`) and the reveal rule (:meth:`QueriesBase.revealing`). The
runtime port is held for the one question only it can answer: what runs now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ledger import policy
from ledger.application import LedgerApplication
from ledger.domain.secrecy import HIDDEN
from ledger.errors import NotFound
from ledger.ids import KIND_NAMES, check_app_name, check_id
from ledger.ownership import owned
from ledger.policy import Action, Principal
from ledger.read_model import ReadModel
from ledger.runtime import Runtime
from ledger.views import AppView, BuildView, PromotionView, ReleaseView

V = TypeVar("V", BuildView, PromotionView, ReleaseView)


class QueriesBase:
    """Holds the read model, the ledger (for env values) and the runtime (for what runs;
    None: nothing runs)."""

    def __init__(
        self, reader: ReadModel, ledger: LedgerApplication, runtime: Runtime | None = None
    ) -> None:
        self.reader = reader
        self.ledger = ledger
        self.runtime = runtime

    def app(self, name: str) -> AppView:
        """The app: INVALID_ARGUMENT for a malformed name, NOT_FOUND when unknown."""
        check_app_name(name)
        view = self.reader.get_app(name)
        if view is None:
            raise NotFound(f"app {name} not found")
        return view

    def owned_view(self, kind: str, get: Callable[[str], V | None], app: str, public_id: str) -> V:
        """The view of the build, release or promotion ``public_id`` (its ``kind`` of id),
        which must belong to ``app`` when one is given (NOT_FOUND otherwise)."""
        if app:
            check_app_name(app)
        check_id(kind, public_id)
        found = get(public_id)
        return owned(found, found.app if found else "", KIND_NAMES[kind], public_id, app)

    @staticmethod
    def revealing(principal: Principal, app: str, reveal: bool) -> bool:
        """The reveal rule: env values only when asked (``reveal``), and then only to a key
        that may see them, else PERMISSION_DENIED (so nobody mistakes masked values for
        real ones)."""
        if reveal:
            policy.check(principal, Action.REVEAL_ENV, app)
        return reveal

    @staticmethod
    def env_values(values: dict[str, str], revealed: bool) -> dict[str, str]:
        """Values as shown: themselves when revealed, else hidden (sorted by key)."""
        return HIDDEN.env(values, reveal=revealed)
